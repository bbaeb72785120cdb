// `unsub-recon audit` end to end: the real CLI extracts from the sandbox's simulators, transforms,
// and then audits addresses whose state per account the scenario's ground truth knows.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { normaliseEmail } from '../../extractors/core/email.js';
import { type GroundTruth, groundTruth } from '../../extractors/core/scenario/truth.js';
import { type Sandbox, startSandbox } from '../../pipelines/sandbox.js';
import { runCli } from '../helpers/cli.js';

interface Row {
  account_id: string;
  provider: string;
  email_norm: string;
  scope: string | null;
  present: boolean;
  unsubscribed_at: string | null;
  raw_time: string | null;
  first_seen_run: string | null;
  last_seen_run: string | null;
  evidence: Array<{
    run_id: string;
    raw_email: string | null;
    raw_time: string | null;
    raw: unknown;
    request: {
      url_redacted: string | null;
      window_from: string | null;
      window_to: string | null;
      page: number | null;
    };
  }>;
  events: Array<{ event: string; observed_at: string; run_id: string }>;
}

let sandbox: Sandbox;
let truth: GroundTruth;
const warehouse = () => path.join(sandbox.dir, 'audit.duckdb');
const cli = (args: string[]) =>
  runCli(['--config', sandbox.configFile, '--warehouse', warehouse(), ...args], { env: sandbox.env });

beforeAll(async () => {
  sandbox = await startSandbox({
    rows: 200,
    seed: 11,
    dir: mkdtempSync(path.join(tmpdir(), 'unsub-audit-')),
  });
  truth = groundTruth(sandbox.scenario);
  const extracted = await cli(['extract', '--full', '--json']);
  expect(extracted.code, extracted.stderr).toBe(0);
  const transformed = await cli(['transform', '--json']);
  expect(transformed.code, transformed.stderr).toBe(0);
}, 120_000);
afterAll(async () => {
  await sandbox?.close();
});

/** An ASCII address held by some accounts and missing from others, with a known time. */
function pickAddress() {
  const d = truth.discrepancies.find(
    (x) =>
      x.kind === 'missing' &&
      /^[\x21-\x7e]+$/.test(x.emailNorm) &&
      truth.suppressions.some((s) => s.emailNorm === x.emailNorm && s.unsubscribedAt !== null),
  );
  if (d === undefined) throw new Error('the scenario has no suitable discrepancy');
  return d;
}

const iso = (v: string | null) => (v === null ? null : new Date(v).toISOString());

describe('audit', () => {
  it('--format json: present per account matches the ground truth, with raw rows and requests as evidence', async () => {
    const d = pickAddress();
    const { code, stdout, stderr } = await cli(['audit', '--format', 'json', '--', d.emailNorm]);
    expect(code, stderr).toBe(0);
    const rows = JSON.parse(stdout) as Row[];
    const accounts = new Set(rows.map((r) => r.account_id));
    // every configured account appears, the group's members included
    for (const a of [...d.presentIn, ...d.missingFrom]) expect(accounts).toContain(a);
    expect(rows.every((r) => r.email_norm === d.emailNorm)).toBe(true);

    const expected = truth.suppressions
      .filter((s) => s.emailNorm === d.emailNorm && s.active)
      .map((s) => `${s.accountId}|${s.scope}|${iso(s.unsubscribedAt)}`)
      .sort();
    const present = rows
      .filter((r) => r.present)
      .map((r) => `${r.account_id}|${r.scope}|${iso(r.unsubscribed_at)}`)
      .sort();
    expect(present).toEqual(expected);
    for (const missing of d.missingFrom) {
      const mine = rows.filter((r) => r.account_id === missing);
      expect(mine.length).toBeGreaterThan(0);
      // groups diff the global scope: the address may still be held in one of the account's lists
      expect(mine.some((r) => r.present && r.scope === 'global')).toBe(false);
    }
    for (const r of rows.filter((x) => !x.present && x.scope === null)) {
      expect(r.evidence).toEqual([]);
      expect(r.first_seen_run).toBeNull();
    }

    for (const r of rows.filter((x) => x.present)) {
      expect(r.first_seen_run).toMatch(/^\d{8}T\d{6}Z-/);
      expect(r.last_seen_run).toMatch(/^\d{8}T\d{6}Z-/);
      if (r.unsubscribed_at !== null)
        expect(r.unsubscribed_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
      expect(r.evidence.length).toBeGreaterThan(0);
      for (const e of r.evidence) {
        expect(normaliseEmail(e.raw_email ?? '')).toBe(d.emailNorm);
        expect(JSON.stringify(e.raw)).toContain(e.raw_email);
        expect(e.request.url_redacted).toMatch(/^https?:\/\//);
        expect(e.request.window_from).not.toBeNull();
        expect(e.request.window_to).not.toBeNull();
      }
      if (r.raw_time !== null) expect(r.evidence.map((e) => e.raw_time)).toContain(r.raw_time);
      // the full snapshot added it, and that is the run it was seen in
      expect(r.events).toContainEqual(expect.objectContaining({ event: 'added', run_id: r.first_seen_run }));
    }
    for (const secret of Object.values(sandbox.env)) {
      expect(stdout).not.toContain(secret);
    }
  });

  it('a differently-cased, space-padded spelling finds the same rows; --json equals --format json', async () => {
    const d = pickAddress();
    const plain = await cli(['audit', '--format', 'json', '--', d.emailNorm]);
    const padded = await cli(['audit', '--json', '--', `  ${d.emailNorm.toUpperCase()}\t`]);
    expect(padded.code, padded.stderr).toBe(0);
    expect(JSON.parse(padded.stdout)).toEqual(JSON.parse(plain.stdout));
  });

  it('--format csv and table carry the same rows', async () => {
    const d = pickAddress();
    const json = JSON.parse((await cli(['audit', '--format', 'json', '--', d.emailNorm])).stdout) as Row[];
    const csv = await cli(['audit', '--format', 'csv', '--', d.emailNorm]);
    expect(csv.code, csv.stderr).toBe(0);
    const records = parse(csv.stdout, { columns: true }) as Record<string, string>[];
    expect(Object.keys(records[0]!)).toEqual([
      'account_id',
      'provider',
      'email_norm',
      'scope',
      'present',
      'unsubscribed_at',
      'raw_time',
      'first_seen_run',
      'last_seen_run',
      'evidence',
      'events',
    ]);
    expect(records.map((r) => `${r.account_id}|${r.scope}|${r.present}`)).toEqual(
      json.map((r) => `${r.account_id}|${r.scope ?? ''}|${r.present}`),
    );
    for (const [i, r] of records.entries()) expect(JSON.parse(r.evidence!)).toEqual(json[i]!.evidence);

    const table = await cli(['audit', '--', d.emailNorm]);
    expect(table.code, table.stderr).toBe(0);
    const first = json.find((r) => r.present)!;
    expect(table.stdout).toContain('present');
    expect(table.stdout).toContain(first.evidence[0]!.request.url_redacted!);
    for (const a of new Set(json.map((r) => r.account_id))) expect(table.stdout).toContain(a);
  });

  it('an address no account holds exits 1 with AUDIT_NOT_FOUND', async () => {
    const { code, stdout, stderr } = await cli([
      'audit',
      'nobody-at-all@nowhere.invalid',
      '--format',
      'json',
    ]);
    expect(code).toBe(1);
    expect(stderr).toContain('AUDIT_NOT_FOUND');
    expect(stderr).toContain('nobody-at-all@nowhere.invalid');
    const rows = JSON.parse(stdout) as Row[];
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((r) => !r.present && r.scope === null)).toBe(true);
  });
});
