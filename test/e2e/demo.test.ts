// `make demo` runs `unsub-recon demo`: the whole current job on the simulators, in one process.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

describe('demo', () => {
  it('extracts every simulated account and reconciles them', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'unsub-demo-'));
    const { code, stdout, stderr } = await runCli(['demo', '--rows', '150', '--dir', dir]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/run \S+: succeeded/);
    for (const id of ['sg-reseller', 'sg-sub', 'sc-main', 'wc-main', 'bh-main']) {
      expect(stdout).toMatch(new RegExp(`${id}\\s+\\S+\\s+full\\s+.*complete`));
    }
    expect(stderr).toMatch(/transform: \d+ suppressions, \d+ rejects/);
    expect(stderr).toMatch(/group all-brands: [1-9]\d* discrepancies/);
    expect(stderr).toContain(`${dir}/warehouse.duckdb`);
  });
});
