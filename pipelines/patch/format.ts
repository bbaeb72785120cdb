/**
 * Patch files and their manifest (DESIGN.md "Patch files"): what `plan` writes and `replay` reads.
 *
 *     <outDir>/<run_id>/patches/<group>/<target>.add.csv      adds for one target
 *                                      /<target>.delete.csv   deletes (mirror groups only)
 *                                      /<target>.manual.csv   deletes the target's API cannot do
 *                                                             safely: for a person, never replayed
 *                                      /manifest.json
 *
 * CSV: RFC 4180, UTF-8, CRLF, a header row, the columns of {@link PATCH_COLUMNS}. Addresses are
 * byte-exact (no spreadsheet-formula neutralisation: these are machine inputs, unlike the report
 * CSVs). The manifest lists every file with its target, provider, op, row count and the sha256
 * (lowercase hex) of its bytes; replay refuses the whole manifest when anything disagrees.
 */
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { z } from 'zod';
import type { Config } from '../../extractors/core/config.js';
import { PatchError } from '../../extractors/core/errors.js';
import { writeNewFile } from '../../extractors/core/write-file.js';
import { toCsv } from '../sql.js';

export const PATCH_COLUMNS = [
  'email',
  'op',
  'target_account',
  'reason',
  'source_accounts',
  'source_unsubscribed_at',
] as const;

export type PatchOp = 'add' | 'delete' | 'manual';
/** The ops replay sends; 'manual' rows are for a person. */
export type WriteOp = Exclude<PatchOp, 'manual'>;

export interface PatchRow {
  /** Exactly as the target needs it: surrounding space removed, Unicode NFC, case kept. */
  email: string;
  op: PatchOp;
  target_account: string;
  /** In words: why this row exists (which members hold the address, which do not, the rule). */
  reason: string;
  /** Accounts whose state backs the row, `;`-separated (adds: the holders; deletes: the source). */
  source_accounts: string;
  /** ISO 8601 UTC, the earliest unsubscribe among the holders; empty when none is known. */
  source_unsubscribed_at: string;
}

export const MANIFEST_FILE = 'manifest.json';
export const MANIFEST_FORMAT = 'unsub-recon/patch-manifest@1';

const slug = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/);
const fileEntrySchema = z.strictObject({
  path: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*\.(add|delete|manual)\.csv$/),
  target: slug,
  provider: z.string().min(1),
  op: z.enum(['add', 'delete', 'manual']),
  rows: z.number().int().min(0),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, '64 lowercase hex digits'),
  /** manual files: why the target gets no delete file. */
  why: z.string().optional(),
});

const checkSchema = z.strictObject({
  target: z.string(),
  list_size: z.number().int(),
  deletes: z.number().int(),
  manual: z.number().int(),
  delete_fraction: z.number().nullable(),
  max_delete_fraction: z.number(),
  max_deletes: z.number().int().nullable(),
});

const manifestSchema = z.strictObject({
  format: z.literal(MANIFEST_FORMAT),
  run_id: z.string().min(1),
  created_at: z.string(),
  group: slug,
  policy: z.enum(['union', 'mirror']),
  source: z.string().nullable(),
  scope: z.string(),
  members: z.array(z.string()),
  diff_run_id: z.string().nullable(),
  delete_rule: z.enum(['tracked', 'foreign', 'none']),
  forced: z.boolean(),
  source_shrink: z
    .strictObject({
      account: z.string(),
      previous_size: z.number().int(),
      removed: z.number().int(),
      fraction: z.number(),
    })
    .nullable(),
  checks: z.array(checkSchema),
  files: z.array(fileEntrySchema),
});

export type PatchManifest = z.infer<typeof manifestSchema>;
export type PatchFileEntry = z.infer<typeof fileEntrySchema>;
export type TargetCheck = z.infer<typeof checkSchema>;

export function patchFileName(target: string, op: PatchOp): string {
  return `${target}.${op}.csv`;
}

/** Names one patch file across runs: `<plan run_id>/<group>/<target>.<op>`. */
export function patchId(runId: string, group: string, target: string, op: PatchOp): string {
  return `${runId}/${group}/${target}.${op}`;
}

export function sha256Hex(bytes: string | Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The bytes of a patch file; with `header: false`, of rows that follow others in one file. */
export function patchCsv(rows: readonly PatchRow[], options: { header?: boolean } = {}): string {
  return toCsv(
    rows as unknown as ReadonlyArray<Record<string, unknown>>,
    [...PATCH_COLUMNS] as unknown as string[],
    options,
  );
}

export interface PatchFileContent {
  target: string;
  provider: string;
  op: PatchOp;
  /** In file order: all at once, or batch by batch as they stream from the warehouse. */
  rows: readonly PatchRow[] | AsyncIterable<readonly PatchRow[]>;
  /** manual files: why the target gets no delete file. */
  why?: string;
}

/** Writes one patch file into the folder being built; @returns its manifest entry. */
export type PatchFileWriter = (content: PatchFileContent) => Promise<PatchFileEntry>;

/** Rows per piece when a file's rows are given all at once, as many as a DuckDB chunk. */
const PIECE_ROWS = 2048;

/**
 * Writes a patch folder: `fill` writes the files (in any order) through the writer it is given
 * and returns their entries in the order the manifest lists them; then manifest.json. Each file
 * is streamed (a batch of rows at a time, hashed and counted as it goes), so a file of millions
 * of rows costs the memory of a few batches. Everything is written in a hidden sibling folder
 * renamed into place at the end, so a reader never sees half a patch and a failure, in `fill`
 * or here, leaves nothing behind.
 * @throws PatchError when `folder` already exists (a patch is never rewritten), or when the
 *   entries `fill` returns are not exactly the files it wrote.
 */
export async function createPatchFolder(
  folder: string,
  manifest: Omit<PatchManifest, 'format' | 'files'>,
  fill: (writeFile: PatchFileWriter) => Promise<PatchFileEntry[]>,
): Promise<PatchFileEntry[]> {
  if (existsSync(folder)) throw new PatchError(`${folder} already exists; a patch folder is never rewritten`);
  mkdirSync(path.dirname(folder), { recursive: true });
  const staging = path.join(path.dirname(folder), `.${path.basename(folder)}.partial-${process.pid}`);
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging);
  try {
    const written = new Set<string>();
    const files = await fill(async (content) => {
      const entry = await writePatchFile(staging, content);
      written.add(entry.path);
      return entry;
    });
    const listed = new Set(files.map((f) => f.path));
    if (
      listed.size !== files.length ||
      listed.size !== written.size ||
      files.some((f) => !written.has(f.path))
    ) {
      throw new PatchError(
        `${folder}: the manifest would list ${[...listed].join(', ') || 'no file'}, but ${[...written].join(', ') || 'no file'} ${written.size === 1 ? 'was' : 'were'} written`,
      );
    }
    const full: PatchManifest = { format: MANIFEST_FORMAT, ...manifest, files };
    writeFileSync(path.join(staging, MANIFEST_FILE), `${JSON.stringify(full, null, 2)}\n`);
    renameSync(staging, folder);
    return files;
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    throw error;
  }
}

/** {@link createPatchFolder} for files given in manifest order. */
export async function writePatchFolder(
  folder: string,
  manifest: Omit<PatchManifest, 'format' | 'files'>,
  contents: Iterable<PatchFileContent>,
): Promise<PatchFileEntry[]> {
  return createPatchFolder(folder, manifest, async (writeFile) => {
    const files: PatchFileEntry[] = [];
    for (const content of contents) files.push(await writeFile(content));
    return files;
  });
}

/**
 * One file: the header, then each batch's records, through a stream with backpressure
 * ({@link writeNewFile}); the sha256 and the row count are taken from the very pieces written.
 * The bytes are exactly those of {@link patchCsv} over all the rows at once.
 */
async function writePatchFile(dir: string, content: PatchFileContent): Promise<PatchFileEntry> {
  const name = patchFileName(content.target, content.op);
  const hash = createHash('sha256');
  let rows = 0;
  async function* pieces(): AsyncGenerator<string> {
    const header = patchCsv([]);
    hash.update(header);
    yield header;
    for await (const batch of batchesOf(content.rows)) {
      if (batch.length === 0) continue;
      const text = patchCsv(batch, { header: false });
      hash.update(text);
      rows += batch.length;
      yield text;
    }
  }
  await writeNewFile(path.join(dir, name), pieces());
  return {
    path: name,
    target: content.target,
    provider: content.provider,
    op: content.op,
    rows,
    sha256: hash.digest('hex'),
    ...(content.why !== undefined ? { why: content.why } : {}),
  };
}

function batchesOf(
  rows: readonly PatchRow[] | AsyncIterable<readonly PatchRow[]>,
): Iterable<readonly PatchRow[]> | AsyncIterable<readonly PatchRow[]> {
  if (!isRowArray(rows)) return rows;
  return (function* () {
    for (let start = 0; start < rows.length; start += PIECE_ROWS) yield rows.slice(start, start + PIECE_ROWS);
  })();
}

function isRowArray(
  rows: readonly PatchRow[] | AsyncIterable<readonly PatchRow[]>,
): rows is readonly PatchRow[] {
  return Array.isArray(rows);
}

export interface LoadedPatchFile {
  entry: PatchFileEntry & { op: WriteOp };
  patchId: string;
  rows: PatchRow[];
}

export interface LoadedPatch {
  /** The folder holding manifest.json. */
  dir: string;
  manifestPath: string;
  manifest: PatchManifest;
  /** sha256 of the manifest bytes, recorded with every journal row. */
  manifestSha256: string;
  /** add and delete files, in manifest order. */
  files: LoadedPatchFile[];
  /** manual files: listed, never replayed. */
  manual: PatchFileEntry[];
}

/**
 * Reads and checks a patch: `location` is the folder holding manifest.json or the manifest
 * itself. Everything is checked before anything is sent, and one problem refuses the whole
 * manifest: a file whose sha256 or row count differs, a file the manifest does not list, a
 * target not in the config or configured with another provider, a row whose op or target does
 * not match its file, an empty address.
 * @throws PatchError naming the file and what is wrong.
 */
export function loadPatch(location: string, config: Config): LoadedPatch {
  const absolute = path.resolve(location);
  if (!existsSync(absolute)) throw new PatchError(`${absolute}: no such file or folder`);
  const isDir = statSync(absolute).isDirectory();
  const manifestPath = isDir ? path.join(absolute, MANIFEST_FILE) : absolute;
  const dir = isDir ? absolute : path.dirname(absolute);
  if (!existsSync(manifestPath)) {
    throw new PatchError(
      `${dir} holds no ${MANIFEST_FILE}; expected a patch folder written by \`unsub-recon plan\` (<outDir>/<run_id>/patches/<group>/)`,
    );
  }
  const manifestBytes = readFileSync(manifestPath);
  let raw: unknown;
  try {
    raw = JSON.parse(manifestBytes.toString('utf8'));
  } catch (error) {
    throw new PatchError(`${manifestPath}: not JSON (${(error as Error).message})`);
  }
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new PatchError(
      `${manifestPath}: ${issue.path.join('.') || '(top level)'}: ${issue.message}; expected a manifest written by \`unsub-recon plan\``,
    );
  }
  const manifest = parsed.data;

  const listed = new Set(manifest.files.map((f) => f.path));
  const unlisted = readdirCsv(dir).filter((name) => !listed.has(name));
  if (unlisted.length > 0) {
    throw new PatchError(
      `${dir}: ${unlisted.join(', ')} not listed in ${MANIFEST_FILE}; refusing the whole patch (a file was added or renamed)`,
    );
  }

  const files: LoadedPatchFile[] = [];
  const manual: PatchFileEntry[] = [];
  for (const entry of manifest.files) {
    const where = path.join(dir, entry.path);
    if (entry.path !== patchFileName(entry.target, entry.op)) {
      throw new PatchError(
        `${MANIFEST_FILE}: file ${entry.path} should be named ${patchFileName(entry.target, entry.op)}`,
      );
    }
    const account = config.accounts.find((a) => a.id === entry.target);
    if (account === undefined) {
      throw new PatchError(
        `${where}: target account "${entry.target}" is not in the config ${config.file}; expected one of ${config.accounts.map((a) => a.id).join(', ')}. Nothing was sent`,
      );
    }
    if (account.provider !== entry.provider) {
      throw new PatchError(
        `${where}: planned for a ${entry.provider} account, but "${entry.target}" is configured as ${account.provider}. Nothing was sent`,
      );
    }
    if (!existsSync(where))
      throw new PatchError(`${where}: listed in ${MANIFEST_FILE} but missing. Nothing was sent`);
    const bytes = readFileSync(where);
    const actual = sha256Hex(bytes);
    if (actual !== entry.sha256) {
      throw new PatchError(
        `${where}: sha256 ${actual} differs from the manifest's ${entry.sha256}; the file changed after planning. Refusing the whole patch, nothing was sent`,
      );
    }
    const rows = parseRows(bytes.toString('utf8'), where, entry);
    if (entry.op === 'manual') manual.push(entry);
    else
      files.push({
        entry: { ...entry, op: entry.op },
        patchId: patchId(manifest.run_id, manifest.group, entry.target, entry.op),
        rows,
      });
  }
  return { dir, manifestPath, manifest, manifestSha256: sha256Hex(manifestBytes), files, manual };
}

/** Patch-like names in the folder: other files (notes, a README) do not change what is sent. */
function readdirCsv(dir: string): string[] {
  return readdirSync(dir)
    .filter((name) => /\.(add|delete|manual)\.csv$/.test(name))
    .sort();
}

function parseRows(text: string, where: string, entry: PatchFileEntry): PatchRow[] {
  let records: string[][];
  try {
    records = parse(text, { bom: false, relax_column_count: false, skip_empty_lines: false }) as string[][];
  } catch (error) {
    throw new PatchError(`${where}: not RFC 4180 CSV (${(error as Error).message}). Nothing was sent`);
  }
  const [header, ...data] = records;
  if (header === undefined || header.join(',') !== PATCH_COLUMNS.join(',')) {
    throw new PatchError(
      `${where}: header ${JSON.stringify(header ?? [])}; expected ${PATCH_COLUMNS.join(',')}`,
    );
  }
  if (data.length !== entry.rows) {
    throw new PatchError(`${where}: ${data.length} rows, the manifest says ${entry.rows}. Nothing was sent`);
  }
  const seen = new Set<string>();
  return data.map((cells, i) => {
    const row = Object.fromEntries(PATCH_COLUMNS.map((c, j) => [c, cells[j] ?? ''])) as unknown as PatchRow;
    const line = `${where} row ${i + 1}`;
    if (row.op !== entry.op) throw new PatchError(`${line}: op "${row.op}" in a ${entry.op} file`);
    if (row.target_account !== entry.target) {
      throw new PatchError(`${line}: target_account "${row.target_account}" in the file of ${entry.target}`);
    }
    if (row.email.trim() === '') throw new PatchError(`${line}: empty email`);
    if (seen.has(row.email)) throw new PatchError(`${line}: ${JSON.stringify(row.email)} appears twice`);
    seen.add(row.email);
    return row;
  });
}
