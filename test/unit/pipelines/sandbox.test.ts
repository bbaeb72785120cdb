import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { request } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { envName, type Sandbox, startSandbox } from '../../../pipelines/sandbox.js';

const sandboxes: Sandbox[] = [];
afterAll(async () => {
  await Promise.all(sandboxes.map((s) => s.close()));
});

async function sendcloudList(sandbox: Sandbox) {
  const url = sandbox.simulators.get('sc-main')!.url;
  const res = await request(`${url}/apiv2/unsubscribe/list`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      apiUser: sandbox.env[envName('sc-main', 'apiUser')]!,
      apiKey: sandbox.env[envName('sc-main', 'apiKey')]!,
      days: '30',
    }).toString(),
  });
  await res.body.dump();
  return res.statusCode;
}

describe('startSandbox', () => {
  it('applies --faults to the named account only, deterministically', async () => {
    const sandbox = await startSandbox({
      rows: 100,
      dir: mkdtempSync(path.join(tmpdir(), 'sbx-')),
      faults: ['sc-main=server-error/503:1'],
    });
    sandboxes.push(sandbox);
    expect(await sendcloudList(sandbox)).toBe(503);
    expect(await sendcloudList(sandbox)).toBe(200);
    const journal = sandbox.simulators.get('sc-main')!.journal.entries();
    expect(journal.map((e) => e.status)).toEqual([503, 200]);
    expect(sandbox.simulators.get('bh-main')!.journal.size).toBe(0);
  });

  it('applies a fault without an account prefix to every account', async () => {
    const sandbox = await startSandbox({
      rows: 100,
      dir: mkdtempSync(path.join(tmpdir(), 'sbx-')),
      faults: ['rate-limit/2:1'],
    });
    sandboxes.push(sandbox);
    const first = await sendcloudList(sandbox);
    expect(first).toBe(429);
    expect(await sendcloudList(sandbox)).toBe(200);
  });

  it('names environment variables from account and field', () => {
    expect(envName('sc-main', 'apiKey')).toBe('SANDBOX_SC_MAIN_APIKEY');
    expect(envName('sg.sub', 'api_user')).toBe('SANDBOX_SG_SUB_API_USER');
  });
});
