/**
 * Writes a new file from pieces of text produced one after the other, through a file stream with
 * backpressure: the next piece is asked for only when the stream has room, so a file of any size
 * costs the memory of a few pieces. Fails if the file exists: callers write into a folder of
 * their own (a report's, a patch's staging folder) that is new.
 */
import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export async function writeNewFile(
  file: string,
  pieces: Iterable<string> | AsyncIterable<string>,
): Promise<void> {
  await pipeline(Readable.from(pieces), createWriteStream(file, { flags: 'wx' }));
}
