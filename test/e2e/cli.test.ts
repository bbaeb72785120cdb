// The real CLI, as users and other tools run it: `node bin/unsub-recon.js ...` on the compiled
// build (vitest's global setup builds it), reading a real config and a real DuckDB file.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Warehouse } from '../../extractors/core/warehouse.js';
import { runCli } from '../helpers/cli.js';

const dir = mkdtempSync(path.join(tmpdir(), 'unsub-cli-'));
const warehouseFile = path.join(dir, 'wh.duckdb');
const configFile = path.join(dir, 'unsub-recon.config.json');
const SECRETS = {
  SC_USER: 'cli-test-user-5f1e',
  SC_KEY: 'cli-test-key-9a2b',
  BH_KEY: 'bh-key-77d0',
  BH_SECRET: 'bh-secret-31c4',
};
writeFileSync(
  configFile,
  JSON.stringify({
    warehouse: 'wh.duckdb',
    accounts: [
      { id: 'sc-main', provider: 'sendcloud', credentials: { apiUser: 'env:SC_USER', apiKey: 'env:SC_KEY' } },
      {
        id: 'bh-main',
        provider: 'bluehornet',
        credentials: { apiKey: 'env:BH_KEY', sharedSecret: 'env:BH_SECRET' },
      },
    ],
    groups: [{ id: 'brand', accounts: ['sc-main', 'bh-main'] }],
  }),
);
const cli = (args: string[], env: Record<string, string> = SECRETS) =>
  runCli(['--config', configFile, ...args], { env });
const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
});

function expectNoSecrets(...outputs: string[]) {
  for (const output of outputs)
    for (const secret of Object.values(SECRETS)) expect(output).not.toContain(secret);
}

describe('config check', () => {
  it('prints the accounts and groups, never a secret', async () => {
    const { code, stdout, stderr } = await cli(['config', 'check']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/sc-main\s+sendcloud\s+https:\/\/api\.sendcloud\.net\s+Asia\/Shanghai/);
    expect(stdout).toMatch(/bh-main\s+bluehornet/);
    expect(stdout).toMatch(/brand\s+union\s+global\s+sc-main, bh-main/);
    expectNoSecrets(stdout, stderr);
  });

  it('--json prints exactly one JSON object', async () => {
    const { code, stdout } = await cli(['config', 'check', '--json']);
    expect(code).toBe(0);
    const parsed = JSON.parse(stdout);
    expect(parsed.status).toBe('ok');
    expect(parsed.warehouse).toBe(warehouseFile);
    expect(parsed.accounts.map((a: { id: string }) => a.id)).toEqual(['sc-main', 'bh-main']);
    expect(parsed.accounts[0].credentials).toEqual(['apiUser', 'apiKey']);
    expect(parsed.groups[0]).toMatchObject({
      id: 'brand',
      policy: 'union',
      accounts: ['sc-main', 'bh-main'],
    });
    expectNoSecrets(stdout);
  });

  it('a config error exits 2 and names the field; --json reports it as JSON', async () => {
    const { code, stderr } = await cli(['config', 'check'], { SC_USER: 'x' });
    expect(code).toBe(2);
    expect(stderr).toMatch(
      /CONFIG_INVALID: config accounts\[0\]\.credentials\.apiKey: environment variable SC_KEY is not set/,
    );
    const json = await cli(['config', 'check', '--json'], { SC_USER: 'x' });
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout)).toMatchObject({ status: 'error', error: { code: 'CONFIG_INVALID' } });
  });

  it('a missing config file exits 2', async () => {
    const { code, stderr } = await runCli(['--config', path.join(dir, 'none.json'), 'config', 'check']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/none\.json: file not found/);
  });
});

describe('usage', () => {
  it.each([
    [['bogus'], /unknown command 'bogus'/],
    [['runs', '--limit', '0'], /--limit: got "0", expected a whole number/],
    [['runs', '--nope'], /unknown option '--nope'/],
  ])('%j exits 2', async (args, message) => {
    const { code, stderr } = await cli(args);
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
  });

  it('--version prints the package version', async () => {
    const { code, stdout } = await runCli(['--version']);
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    expect(code).toBe(0);
    expect(stdout.trim()).toBe(pkg.version);
  });

  it.each([['config', 'check'], ['runs']])('%s --help shows an example', async (...command) => {
    const { code, stdout } = await runCli([...command, '--help']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/Examples?:\n\s+unsub-recon /);
  });

  it('--help lists only the commands that exist', async () => {
    const { stdout } = await runCli(['--help']);
    const commands = [
      ...stdout.matchAll(/^\s{2}(\w[\w-]*)(?: \[options\])?(?: \[command\])?(?: <[\w.]+>)?\s{2,}/gm),
    ].map((m) => m[1]);
    expect(commands.filter((c) => c !== 'help')).toEqual([
      'config',
      'runs',
      'nightly',
      'prune',
      'extract',
      'transform',
      'demo',
      'sandbox',
      'sql',
      'export',
      'audit',
      'report',
      'plan',
      'replay',
      'migrate',
    ]);
  });
});

describe('runs', () => {
  it('says there are no runs before the warehouse exists', async () => {
    const { code, stdout } = await cli(['runs', '--json']);
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ status: 'ok', runs: [] });
  });

  it('lists runs newest first with their status', async () => {
    const warehouse = await Warehouse.open(warehouseFile, { mode: 'write', command: 'test' });
    const first = await warehouse.beginRun({});
    await warehouse.finishRun(first, 'succeeded');
    const second = await warehouse.beginRun({});
    await warehouse.finishRun(second, 'failed', 'provider down');
    await warehouse.close();

    const json = await cli(['runs', '--json']);
    expect(json.code).toBe(0);
    const runs = JSON.parse(json.stdout).runs;
    expect(runs.map((r: { run_id: string; status: string }) => [r.run_id, r.status])).toEqual([
      [second, 'failed'],
      [first, 'succeeded'],
    ]);
    expect(runs[0].error).toBe('provider down');
    expect(runs[0].started_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/);

    const table = await cli(['runs', '--limit', '1']);
    expect(table.code).toBe(0);
    expect(table.stdout).toContain(second);
    expect(table.stdout).not.toContain(first);
  });

  it('exits 1 naming the holder while another process writes the warehouse', async () => {
    const holder = spawn(
      process.execPath,
      ['--import', 'tsx', 'test/fixtures/hold-warehouse.ts', warehouseFile, 'hold'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    children.push(holder);
    const ready = await new Promise<{ pid: number; runId: string }>((resolve, reject) => {
      let buffer = '';
      holder.stdout!.on('data', (chunk) => {
        buffer += chunk;
        const line = /ready (.*)\n/.exec(buffer);
        if (line) resolve(JSON.parse(line[1]!));
      });
      holder.on('exit', (code) => reject(new Error(`holder exited ${code}`)));
    });
    const { code, stderr } = await cli(['runs']);
    expect(code).toBe(1);
    expect(stderr).toContain('WAREHOUSE_LOCKED');
    expect(stderr).toContain(`pid ${ready.pid}`);
    expect(stderr).toContain(ready.runId);
    holder.kill('SIGKILL');
  });
});

describe('the README examples', () => {
  // README "Commands that exist so far": the example config with examples/example.env's values.
  const exampleEnv = Object.fromEntries(
    [
      ...readFileSync(new URL('../../examples/example.env', import.meta.url), 'utf8').matchAll(
        /([A-Z_]+)=(\S+)/g,
      ),
    ].map((m) => [m[1]!, m[2]!]),
  );
  const example = (args: string[]) =>
    runCli(
      [
        '--config',
        'examples/unsub-recon.config.json',
        '--warehouse',
        path.join(dir, 'example.duckdb'),
        ...args,
      ],
      {
        env: exampleEnv,
      },
    );

  it('config check, as text and as JSON, lists one account of every provider', async () => {
    const text = await example(['config', 'check']);
    expect(text.code).toBe(0);
    const json = await example(['config', 'check', '--json']);
    expect(
      JSON.parse(json.stdout)
        .accounts.map((a: { provider: string }) => a.provider)
        .sort(),
    ).toEqual([
      'bluehornet',
      'sendcloud',
      'sendgrid-reseller',
      'sendgrid-subuser',
      'sendgrid-v3',
      'whatcounts',
    ]);
    for (const value of Object.values(exampleEnv)) expect(text.stdout + json.stdout).not.toContain(value);
  });

  it('runs works before any extraction', async () => {
    expect((await example(['runs'])).code).toBe(0);
  });
});
