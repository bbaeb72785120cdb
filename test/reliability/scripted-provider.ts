// A tiny loopback HTTP server that answers every request with whatever the current case scripts:
// the hostile provider answers (bad bytes, DTDs, huge bodies) that no honest simulator sends.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type ScriptedAnswer = (request: IncomingMessage, response: ServerResponse) => void;

export interface ScriptedProvider {
  url: string;
  /** Requests seen since the last `answer(...)`. */
  requests: number;
  answer(script: ScriptedAnswer): void;
  close(): Promise<void>;
}

export async function startScriptedProvider(): Promise<ScriptedProvider> {
  let script: ScriptedAnswer = (_req, res) => res.writeHead(503).end();
  const server = createServer((req, res) => {
    provider.requests++;
    req.resume();
    req.on('end', () => script(req, res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const provider: ScriptedProvider = {
    url: `http://127.0.0.1:${port}`,
    requests: 0,
    answer(next) {
      script = next;
      provider.requests = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return provider;
}

/** Answers with these bytes and this content type (one write, Content-Length set). */
export const bytesAnswer =
  (body: Buffer | string, contentType: string): ScriptedAnswer =>
  (_req, res) => {
    const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    res.writeHead(200, { 'content-type': contentType, 'content-length': bytes.length }).end(bytes);
  };
