// `notify.webhook`: the nightly summary POSTed to a real local HTTP server, with retries, and the
// secret in the URL never written anywhere.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedactor } from '../../extractors/core/redact.js';
import { Warehouse } from '../../extractors/core/warehouse.js';
import { postSummary, webhookLabel } from '../../pipelines/notify.js';
import { checkManifest } from '../../pipelines/run-dir.js';
import { type Sandbox, startSandbox } from '../../pipelines/sandbox.js';
import { runCli } from '../helpers/cli.js';

const TOKEN = 'whk-9f8e7d6c5b4a';
const SIG = 'sig-0a1b2c3d4e';

interface Received {
  method: string;
  url: string;
  contentType: string | undefined;
  body: string;
}

/** A webhook receiver answering with `statuses` in turn (the last one repeats). */
async function receiver(statuses: number[]) {
  const received: Received[] = [];
  const server: Server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      received.push({ method: req.method!, url: req.url!, contentType: req.headers['content-type'], body });
      res.statusCode = statuses[Math.min(received.length - 1, statuses.length - 1)]!;
      res.end(res.statusCode < 300 ? 'ok' : `no, token ${TOKEN}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/${TOKEN}?sig=${SIG}`,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('postSummary', () => {
  const redact = createRedactor([TOKEN, SIG, `/hooks/${TOKEN}`]);

  it('retries 5xx and 429 until the receiver accepts, then reports the attempts', async () => {
    const hook = await receiver([503, 429, 502, 204]);
    try {
      const result = await postSummary(hook.url, { run_id: 'r1', n: 1 }, { redact, retry: { baseMs: 5 } });
      expect(result).toMatchObject({ status: 'sent', attempts: 4, http_status: 204, error: null });
      expect(result.target).toBe(`${new URL(hook.url).origin}/***`);
      expect(hook.received).toHaveLength(4);
      for (const r of hook.received) {
        expect(r).toMatchObject({ method: 'POST', contentType: 'application/json' });
        expect(JSON.parse(r.body)).toEqual({ run_id: 'r1', n: 1 });
      }
    } finally {
      await hook.close();
    }
  });

  it('gives up after the attempts allowed, with a redacted error; a 4xx is not retried', async () => {
    const down = await receiver([500]);
    const gone = await receiver([404]);
    try {
      const failed = await postSummary(down.url, {}, { redact, retry: { baseMs: 5, maxAttempts: 3 } });
      expect(failed).toMatchObject({ status: 'failed', attempts: 3, http_status: 500 });
      expect(down.received).toHaveLength(3);
      const refused = await postSummary(gone.url, {}, { redact, retry: { baseMs: 5 } });
      expect(refused).toMatchObject({ status: 'failed', attempts: 1, http_status: 404 });
      for (const result of [failed, refused]) {
        expect(result.error).toMatch(/^HTTP_/);
        expect(JSON.stringify(result)).not.toContain(TOKEN);
        expect(JSON.stringify(result)).not.toContain(SIG);
      }
    } finally {
      await down.close();
      await gone.close();
    }
  });

  it('labels a webhook by its origin only', () => {
    expect(webhookLabel('https://user:pw@hooks.example.com:8443/T0/B0/x?token=y')).toBe(
      'https://hooks.example.com:8443/***',
    );
    expect(webhookLabel('https://hooks.example.com')).toBe('https://hooks.example.com');
  });
});

describe('nightly with notify.webhook', () => {
  let sandbox: Sandbox;
  let configFile: string;
  beforeAll(async () => {
    sandbox = await startSandbox({
      rows: 100,
      seed: 5,
      dir: mkdtempSync(path.join(tmpdir(), 'unsub-notify-')),
    });
    // The sandbox's config plus a webhook read from the environment, as an operator would set it.
    const config = JSON.parse(readFileSync(sandbox.configFile, 'utf8'));
    configFile = path.join(sandbox.dir, 'with-webhook.config.json');
    writeFileSync(configFile, JSON.stringify({ ...config, notify: { webhook: 'env:UNSUB_WEBHOOK' } }));
  });
  afterAll(async () => {
    await sandbox?.close();
  });

  const nightly = (webhook: string) =>
    runCli(['--config', configFile, 'nightly', '--json'], {
      env: { ...sandbox.env, UNSUB_WEBHOOK: webhook },
    });

  it('POSTs the summary after the run, retrying a 503, and never writes the URL secret', async () => {
    const hook = await receiver([503, 200]);
    try {
      const result = await nightly(hook.url);
      expect(result.code, result.stderr).toBe(0);
      const summary = JSON.parse(result.stdout);
      expect(hook.received).toHaveLength(2);
      const posted = JSON.parse(hook.received[1]!.body);
      // What was posted is the summary as it stood before notifying.
      expect(posted).toEqual({
        ...summary,
        notify: null,
        steps: summary.steps.filter((s: { step: string }) => s.step !== 'notify'),
      });
      expect(summary.notify).toMatchObject({ status: 'sent', attempts: 2, http_status: 200 });
      expect(summary.steps.at(-1)).toMatchObject({ step: 'notify', status: 'ok' });

      expect(checkManifest(summary.runDir).status).toBe('ok');
      const runLog = readFileSync(path.join(summary.runDir, 'run.log'), 'utf8');
      expect(runLog).toContain('"event":"notify"');
      const warehouse = await Warehouse.open(summary.warehouse, { mode: 'read', command: 'test' });
      let stored: string;
      try {
        stored = JSON.stringify(await warehouse.allJson('SELECT * FROM runs'));
      } finally {
        await warehouse.close();
      }
      const everything = [
        result.stdout,
        result.stderr,
        runLog,
        readFileSync(path.join(summary.runDir, 'summary.json'), 'utf8'),
        stored,
      ].join('\n');
      for (const secret of [TOKEN, SIG, hook.url]) expect(everything).not.toContain(secret);
    } finally {
      await hook.close();
    }
  });

  it('a webhook that refuses makes the run exit 1 (NOTIFY_FAILED), the run directory still sealed', async () => {
    const hook = await receiver([403]);
    try {
      const result = await nightly(hook.url);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('NIGHTLY_NOT_CLEAN');
      expect(result.stderr).toContain('NOTIFY_FAILED');
      const summary = JSON.parse(result.stdout);
      expect(summary).toMatchObject({ status: 'partial', exit_code: 1 });
      expect(summary.notify).toMatchObject({ status: 'failed', attempts: 1, http_status: 403 });
      expect(hook.received).toHaveLength(1);
      expect(checkManifest(summary.runDir).status).toBe('ok');
      expect(result.stdout + result.stderr).not.toContain(TOKEN);
    } finally {
      await hook.close();
    }
  });
});
