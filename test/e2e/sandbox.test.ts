// `unsub-recon sandbox` as a user runs it: a real process serving every simulator, a config that
// `config check` accepts, real HTTP answers from each simulator, a clean stop on SIGTERM.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { request } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { PROVIDER_IDS, PROVIDERS } from '../../extractors/registry.js';
import { BIN, REPO_ROOT, runCli } from '../helpers/cli.js';

const dir = mkdtempSync(path.join(tmpdir(), 'unsub-sandbox-'));
const child = spawn(
  process.execPath,
  [BIN, 'sandbox', '--json', '--rows', '150', '--seed', '5', '--dir', dir],
  {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  },
);
let stderr = '';
child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
const ready = new Promise<{
  config: string;
  envFile: string;
  simulators: Array<{ account: string; provider: string; url: string; rows: number }>;
}>((resolve, reject) => {
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d) => {
    out += d;
    if (out.includes('\n')) resolve(JSON.parse(out.slice(0, out.indexOf('\n'))));
  });
  child.on('exit', (code) => reject(new Error(`sandbox exited ${code}: ${stderr}`)));
});
afterAll(() => {
  child.kill('SIGKILL');
});

function parseEnvFile(file: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^export ([A-Z0-9_]+)='(.*)'$/.exec(line);
    if (m) env[m[1]!] = m[2]!;
  }
  return env;
}

describe('sandbox', () => {
  it('starts one simulator per provider and writes a config that config check accepts', async () => {
    const info = await ready;
    expect(info.simulators.map((s) => s.provider).sort()).toEqual([...PROVIDER_IDS].sort());
    expect(PROVIDER_IDS).toContain('sendgrid-v3');
    const config = JSON.parse(readFileSync(info.config, 'utf8'));
    for (const account of config.accounts) {
      for (const value of Object.values(account.credentials)) expect(value).toMatch(/^env:SANDBOX_/);
    }
    expect(statSync(info.envFile).mode & 0o777).toBe(0o600);
    const env = parseEnvFile(info.envFile);
    const credentialFields = Object.values(PROVIDERS).reduce((n, p) => n + p.config.credentials.length, 0);
    expect(Object.keys(env)).toHaveLength(credentialFields);
    const check = await runCli(['--config', info.config, 'config', 'check', '--json'], { env });
    expect(check.code).toBe(0);
    expect(JSON.parse(check.stdout).accounts).toHaveLength(PROVIDER_IDS.length);
  });

  it('serves the scenario over real HTTP with the credentials it printed', async () => {
    const info = await ready;
    const env = parseEnvFile(info.envFile);
    const sc = info.simulators.find((s) => s.provider === 'sendcloud')!;
    const today = new Date().toISOString().slice(0, 10);
    const monthAgo = new Date(Date.now() - 30 * 86_400_000).toISOString().slice(0, 10);
    const ok = await request(`${sc.url}/apiv2/unsubscribe/list`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        apiUser: env.SANDBOX_SC_MAIN_APIUSER!,
        apiKey: env.SANDBOX_SC_MAIN_APIKEY!,
        startDate: monthAgo,
        endDate: today,
      }).toString(),
    });
    const answer = (await ok.body.json()) as { statusCode: number; info: { dataList: unknown[] } };
    expect(answer.statusCode).toBe(200);
    expect(answer.info.dataList.length).toBeGreaterThan(0);

    const denied = await request(`${sc.url}/apiv2/unsubscribe/list?apiUser=x&apiKey=y&days=1`);
    expect(((await denied.body.json()) as { statusCode: number }).statusCode).toBe(40005);
  });

  it('serves the SendGrid v3 account: Bearer key, on-behalf-of, rate-limit headers', async () => {
    const info = await ready;
    const env = parseEnvFile(info.envFile);
    const v3 = info.simulators.find((s) => s.provider === 'sendgrid-v3')!;
    const config = JSON.parse(readFileSync(info.config, 'utf8'));
    const account = config.accounts.find((a: { provider: string }) => a.provider === 'sendgrid-v3');
    const headers = (key: string) => ({
      authorization: `Bearer ${key}`,
      'on-behalf-of': account.options.onBehalfOf,
      accept: 'application/json',
    });
    const ok = await request(`${v3.url}/v3/suppression/unsubscribes?limit=500&offset=0`, {
      headers: headers(env.SANDBOX_SG_V3_APIKEY!),
    });
    expect(ok.statusCode).toBe(200);
    expect(Number(ok.headers['x-ratelimit-remaining'])).toBeGreaterThan(0);
    const rows = (await ok.body.json()) as Array<{ created: number; email: string }>;
    expect(rows.length).toBe(v3.rows);
    expect(Number.isInteger(rows[0]!.created)).toBe(true);

    const denied = await request(`${v3.url}/v3/suppression/unsubscribes`, { headers: headers('SG.wrong') });
    expect(denied.statusCode).toBe(401);
    expect(await denied.body.json()).toEqual({
      errors: [{ field: null, message: 'Permission denied, wrong credentials', help: null }],
    });
  });

  it('stops cleanly on SIGTERM', async () => {
    await ready;
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stderr).toContain('sandbox stopped');
  });

  it.each([
    [['--faults', 'nope-fault'], /unknown fault kind|nope-fault/],
    [['--faults', 'ghost=rate-limit'], /unknown account "ghost"/],
    [['--scenario', 'huge'], /unknown scenario "huge"/],
    [['--rows', '5'], /rows: got 5, expected a whole number from 100/],
  ])('refuses %j with exit 2', async (args, message) => {
    const result = await runCli(['sandbox', '--dir', path.join(dir, 'bad'), ...args]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
  });
});
