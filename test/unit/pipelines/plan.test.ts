// planPatches on a real DuckDB file whose transform tables are written by hand, rows in → patch
// files out: the union/mirror policies, the tracked-mirror delete rule, manual rows for providers
// that cannot delete, every refusal with its numbers, and the files read back through loadPatch.
import { appendFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Config, parseConfig } from '../../../extractors/core/config.js';
import { PatchError } from '../../../extractors/core/errors.js';
import { Warehouse } from '../../../extractors/core/warehouse.js';
import {
  loadPatch,
  MANIFEST_FILE,
  PATCH_COLUMNS,
  type PatchRow,
  patchCsv,
  sha256Hex,
} from '../../../pipelines/patch/format.js';
import { PlanError, planPatches, planSelection } from '../../../pipelines/plan.js';

const credentials = {
  'sendgrid-subuser': { api_user: 'u', api_key: 'k' },
  'sendgrid-reseller': { api_user: 'u', api_key: 'k' },
  sendcloud: { apiUser: 'u', apiKey: 'k' },
  whatcounts: { realm: 'r', password: 'p' },
  bluehornet: { apiKey: 'k', sharedSecret: 's' },
} as const;
const account = (id: string, provider: keyof typeof credentials, options?: object) => ({
  id,
  provider,
  credentials: credentials[provider],
  ...(options ? { options } : {}),
});

function makeConfig(dir: string): Config {
  return parseConfig(
    JSON.stringify({
      warehouse: 'w.duckdb',
      outDir: 'runs',
      accounts: [
        account('src', 'sendgrid-subuser', { user: 'brand' }),
        account('sc', 'sendcloud'),
        account('wc', 'whatcounts'),
        account('bh', 'bluehornet'),
        account('sg2', 'sendgrid-reseller', { user: 'cust' }),
      ],
      groups: [
        { id: 'u', accounts: ['src', 'sc', 'wc'] },
        {
          id: 'm',
          accounts: ['src', 'sc', 'wc', 'bh'],
          policy: 'mirror',
          source: 'src',
          maxDeleteFraction: 0.5,
        },
        {
          id: 'capped',
          accounts: ['src', 'sc', 'wc', 'bh'],
          policy: 'mirror',
          source: 'src',
          maxDeleteFraction: 0.5,
          maxDeletes: 0,
        },
        { id: 'tight', accounts: ['src', 'sg2'], policy: 'mirror', source: 'src' },
        { id: 'blocked', accounts: ['src', 'sc'] },
        { id: 'never', accounts: ['src', 'wc'] },
      ],
    }),
    path.join(dir, 'unsub-recon.config.json'),
    { env: {} },
  );
}

let dir: string;
let config: Config;
let warehouse: Warehouse;

/** The transform's tables, with the contract columns (README "Transform"), filled by hand. */
async function seedTransformTables(w: Warehouse): Promise<void> {
  await w.run(`
    CREATE TABLE group_status AS SELECT * FROM (VALUES
      ('T1', 'u',      'union',  ['src','sc','wc'],      true,  false, []::VARCHAR[], NULL),
      ('T1', 'm',      'mirror', ['src','sc','wc','bh'], true,  false, []::VARCHAR[], NULL),
      ('T1', 'capped', 'mirror', ['src','sc','wc','bh'], true,  false, []::VARCHAR[], NULL),
      ('T1', 'tight',  'mirror', ['src','sg2'],          true,  false, []::VARCHAR[], NULL),
      ('T1', 'blocked','union',  ['src','sc'],           false, false, ['sc'], 'sc: latest extraction (run E9) is incomplete')
    ) t(run_id, group_id, policy, members, diffed, allowed_incomplete, incomplete_accounts, detail);

    CREATE TABLE discrepancies AS SELECT run_id, group_id, email_norm, present_in, missing_from,
        first_unsubscribed_at::TIMESTAMPTZ AS first_unsubscribed_at, kind FROM (VALUES
      ('T1', 'u', 'a@x.com',          ['src'],          ['sc','wc'],  '2024-01-02T03:04:05Z', 'missing'),
      ('T1', 'u', 'b@x.com',          ['sc','wc'],      ['src'],      NULL,                   'missing'),
      ('T1', 'u', 'josé@x.com',       ['src'],          ['sc','wc'],  '2024-02-01T00:00:00Z', 'missing'),
      ('T1', 'm', 'a@x.com',          ['src'],          ['sc','wc','bh'], '2024-01-02T03:04:05Z', 'missing'),
      ('T1', 'm', 'own@x.com',        ['sc','wc','bh'], ['src'],      NULL,                   'extra'),
      ('T1', 'm', 'person@x.com',     ['sc'],           ['src','wc','bh'], NULL,              'extra'),
      ('T1', 'm', 'readded@x.com',    ['sc'],           ['src','wc','bh'], NULL,              'extra'),
      ('T1', 'capped', 'own@x.com',   ['sc','wc','bh'], ['src'],      NULL,                   'extra'),
      ('T1', 'tight', 'own2@x.com',   ['sg2'],          ['src'],      NULL,                   'extra')
    ) t(run_id, group_id, email_norm, present_in, missing_from, first_unsubscribed_at, kind);

    CREATE TABLE suppressions AS SELECT account_id, provider, email, email_norm, 'global' AS scope,
        unsubscribed_at::TIMESTAMPTZ AS unsubscribed_at, NULL::TIMESTAMPTZ AS expires_at, active
      FROM (VALUES
      ('src', 'sendgrid-subuser', ' A@X.com ',            'a@x.com',       '2024-01-02 03:04:05', true),
      ('src', 'sendgrid-subuser', 'jose${'\u0301'}@x.com', 'josé@x.com',   '2024-02-01 00:00:00', true),
      ('sc',  'sendcloud',        'b@x.com',               'b@x.com',       '2024-05-01 00:00:00', true),
      ('sc',  'sendcloud',        'OWN@x.com',             'own@x.com',     '2024-05-01 00:00:00', true),
      ('sc',  'sendcloud',        'person@x.com',          'person@x.com',  '2024-05-01 00:00:00', true),
      ('sc',  'sendcloud',        'readded@x.com',         'readded@x.com', '2024-05-01 00:00:00', true),
      ('wc',  'whatcounts',       'B@X.com',               'b@x.com',       NULL,                  true),
      ('wc',  'whatcounts',       'own@x.com',             'own@x.com',     NULL,                  true),
      ('bh',  'bluehornet',       'own@x.com',             'own@x.com',     '2024-05-01 00:00:00', true),
      ('sg2', 'sendgrid-reseller','own2@x.com',            'own2@x.com',    '2024-05-01 00:00:00', true)
    ) t(account_id, provider, email, email_norm, unsubscribed_at, active)
    UNION ALL
    SELECT 'sg2', 'sendgrid-reseller', 'filler' || i || '@x.com', 'filler' || i || '@x.com', 'global',
           TIMESTAMPTZ '2024-01-01', NULL, true
    FROM range(199) r(i);

    -- The schema's suppression_events is a view over the transform's compact event tables
    -- (migration 005); planning reads only the contract columns, so a plain table stands in.
    DROP VIEW suppression_events;
    CREATE TABLE suppression_events (account_id VARCHAR, email_norm VARCHAR, scope VARCHAR, event VARCHAR,
                                     observed_at TIMESTAMPTZ, run_id VARCHAR);
  `);
  // The tracked-mirror evidence: unsub-recon added own@x.com to sc and wc, own2@x.com to sg2, and
  // readded@x.com to sc — then deleted that one again, so it is no longer unsub-recon's entry.
  await journal(w, 'R1', 'sc', 'add', 'own@x.com', 'applied', '2025-01-01T00:00:00Z');
  await journal(w, 'R1', 'wc', 'add', 'own@x.com', 'applied', '2025-01-01T00:00:00Z');
  await journal(w, 'R1', 'sg2', 'add', 'own2@x.com', 'confirmed', '2025-01-01T00:00:00Z');
  await journal(w, 'R1', 'sc', 'add', 'readded@x.com', 'applied', '2025-01-01T00:00:00Z');
  await journal(w, 'R2', 'sc', 'delete', 'readded@x.com', 'applied', '2025-02-01T00:00:00Z');
  // An add that failed is not unsub-recon's entry either.
  await journal(w, 'R1', 'bh', 'add', 'own@x.com', 'failed', '2025-01-01T00:00:00Z');
}

let journalSeq = 0;
async function journal(
  w: Warehouse,
  runId: string,
  target: string,
  op: string,
  email: string,
  outcome: string,
  at: string,
): Promise<void> {
  await w.run(
    `INSERT INTO stage_replay_log VALUES ($1, $2, $3, 'm', 'f', 'g', $4, 'p', $2, $5, $5, $6, 1, $7, '', $8)`,
    [runId, ++journalSeq, `P0/g/${target}.${op}`, target, email, op, outcome, new Date(at)],
  );
}

/** Two committed full snapshots of `src`; the latest lost `removed` of the first's 100 addresses. */
async function seedSourceSnapshots(w: Warehouse, removed: number): Promise<void> {
  for (const [runId, started] of [
    ['E1', new Date('2025-01-01T00:00:00Z')],
    ['E2', new Date('2025-01-02T00:00:00Z')],
  ] as const) {
    await w.run(`INSERT INTO runs VALUES ($1, 'extract', NULL, $2, $2, 'succeeded', NULL, 1)`, [
      runId,
      started,
    ]);
    await w.run(
      `INSERT INTO stage_extractions VALUES ($1, 'src', 'sendgrid-subuser', 'full', $2, $2, 'complete',
         1, 0, 1, 0, 100, 0, true, NULL, $2, $2)`,
      [runId, started],
    );
  }
  await w.run(
    `INSERT INTO suppression_events SELECT 'src', 'p' || i || '@x.com', 'global', 'added', now(), 'E1' FROM range(100) r(i)`,
  );
  await w.run(
    `INSERT INTO suppression_events SELECT 'src', 'p' || i || '@x.com', 'global', 'removed', now(), 'E2' FROM range($1) r(i)`,
    [removed],
  );
}

beforeEach(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'unsub-plan-'));
  config = makeConfig(dir);
  warehouse = await Warehouse.open(config.warehouse, { mode: 'write', command: 'test' });
});
afterEach(async () => {
  await warehouse.close();
});

const group = (id: string) => config.groups.find((g) => g.id === id)!;
const plan = (groups: string[], options: Partial<Parameters<typeof planPatches>[0]> = {}) =>
  planPatches({
    warehouse,
    runId: '20250301T000000Z-abcdef',
    config,
    groups: groups.map(group),
    now: new Date('2025-03-01T00:00:00Z'),
    ...options,
  });

function readRows(file: string): Record<string, string>[] {
  const lines = readFileSync(file, 'utf8').split('\r\n').filter(Boolean);
  expect(lines[0]).toBe(PATCH_COLUMNS.join(','));
  return lines.slice(1).map((line) => {
    // Test rows hold no quotes or commas in the first three columns.
    const [email, op, target_account] = line.split(',');
    return { email: email!, op: op!, target_account: target_account! };
  });
}

describe('planPatches', () => {
  it('refuses to plan before any transform', async () => {
    await expect(plan(['u'])).rejects.toThrow(PlanError);
    await expect(plan(['u'])).rejects.toThrow(
      /has no discrepancies, suppressions, group_status.*run `unsub-recon extract` and `unsub-recon transform`/,
    );
  });

  describe('with a transform', () => {
    beforeEach(async () => {
      await seedTransformTables(warehouse);
    });

    it('union: adds only, one file per target, the holder spelling trimmed and NFC, case kept', async () => {
      const result = await plan(['u']);
      const [u] = result.groups;
      expect(u!.status).toBe('planned');
      expect(u!.patchDir).toBe(path.join(dir, 'runs', '20250301T000000Z-abcdef', 'patches', 'u'));
      expect(u!.targets.map((t) => [t.target, t.adds, t.deletes, t.manual])).toEqual([
        ['src', 1, 0, 0],
        ['sc', 2, 0, 0],
        ['wc', 2, 0, 0],
      ]);
      expect(u!.files.map((f) => [f.path, f.op, f.rows])).toEqual([
        ['src.add.csv', 'add', 1],
        ['sc.add.csv', 'add', 2],
        ['wc.add.csv', 'add', 2],
      ]);
      // src lacks b@x.com, held by sc (with a time) and wc (no time: never the earliest) → sc's spelling.
      expect(readRows(path.join(u!.patchDir!, 'src.add.csv'))).toEqual([
        { email: 'b@x.com', op: 'add', target_account: 'src' },
      ]);
      const sc = readFileSync(path.join(u!.patchDir!, 'sc.add.csv'), 'utf8');
      expect(sc).toBe(
        `${PATCH_COLUMNS.join(',')}\r\n` +
          'A@X.com,add,sc,"missing from sc; held by src (group u, union; diff run T1)",src,2024-01-02T03:04:05Z\r\n' +
          'josé@x.com,add,sc,"missing from sc; held by src (group u, union; diff run T1)",src,2024-02-01T00:00:00Z\r\n',
      );
      expect(sc.normalize('NFC')).toBe(sc);
      const manifest = JSON.parse(readFileSync(path.join(u!.patchDir!, MANIFEST_FILE), 'utf8'));
      expect(manifest).toMatchObject({
        run_id: '20250301T000000Z-abcdef',
        group: 'u',
        policy: 'union',
        source: null,
        diff_run_id: 'T1',
        delete_rule: 'none',
      });
      for (const file of manifest.files) {
        expect(file.sha256).toBe(sha256Hex(readFileSync(path.join(u!.patchDir!, file.path))));
        expect(file.sha256).toMatch(/^[0-9a-f]{64}$/);
      }
    });

    it('mirror: deletes only what unsub-recon added (tracked rule); manual rows where the provider cannot delete', async () => {
      const [m] = (await plan(['m'])).groups;
      expect(m!.status).toBe('planned');
      expect(m!.targets.map((t) => [t.target, t.adds, t.deletes, t.manual, t.list_size])).toEqual([
        ['sc', 1, 1, 0, 4],
        ['wc', 1, 0, 1, 2],
        ['bh', 1, 0, 0, 1],
      ]);
      // The target's own spelling, trimmed; person@ is a person's own opt-out, readded@ was deleted
      // again after unsub-recon added it, bh's add failed: none of them is planned.
      expect(readRows(path.join(m!.patchDir!, 'sc.delete.csv'))).toEqual([
        { email: 'OWN@x.com', op: 'delete', target_account: 'sc' },
      ]);
      expect(existsSync(path.join(m!.patchDir!, 'wc.delete.csv'))).toBe(false);
      const manual = readFileSync(path.join(m!.patchDir!, 'wc.manual.csv'), 'utf8');
      expect(manual).toMatch(
        /^own@x\.com,manual,wc,"manual, not replayed: extra: source src no longer holds it; unsub-recon added it to wc \(replay run R1/m,
      );
      expect(manual).toMatch(
        /whatcounts cannot delete it safely: WhatCounts has no command that deletes an opt-out record/,
      );
      expect(m!.files.find((f) => f.op === 'manual')!.why).toMatch(/re-subscribes someone/);
      expect(m!.notes).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^sc: 2 entries the source lacks were not added by unsub-recon and are kept/),
          expect.stringMatching(/^bh: 1 entry the source lacks was not added by unsub-recon and is kept/),
        ]),
      );
      const manifest = JSON.parse(readFileSync(path.join(m!.patchDir!, MANIFEST_FILE), 'utf8'));
      expect(manifest.delete_rule).toBe('tracked');
      expect(manifest.checks.find((c: { target: string }) => c.target === 'sc')).toEqual({
        target: 'sc',
        list_size: 4,
        deletes: 1,
        manual: 0,
        delete_fraction: 0.25,
        max_delete_fraction: 0.5,
        max_deletes: null,
      });
    });

    it('--delete-foreign past maxDeleteFraction: refused with the numbers, nothing written; --force plans it', async () => {
      const [refused] = (await plan(['m'], { deleteForeign: true })).groups;
      expect(refused!.status).toBe('refused');
      expect(refused!.patchDir).toBeNull();
      expect(refused!.refusals).toEqual([
        'group m: 3 deletes planned for sc, 75.00% of its 4 active suppressions, above maxDeleteFraction 0.5 (at most 2 deletes)',
        'group m: nothing written; re-run with --force m if this is intended',
      ]);
      expect(existsSync(path.join(dir, 'runs', '20250301T000000Z-abcdef', 'patches', 'm'))).toBe(false);

      const [forced] = (await plan(['m'], { deleteForeign: true, force: ['m'] })).groups;
      expect(forced!.status).toBe('planned');
      expect(forced!.forced).toBe(true);
      expect(readRows(path.join(forced!.patchDir!, 'sc.delete.csv')).map((r) => r.email)).toEqual([
        'OWN@x.com',
        'person@x.com',
        'readded@x.com',
      ]);
      expect(readRows(path.join(forced!.patchDir!, 'bh.manual.csv')).map((r) => r.email)).toEqual([
        'own@x.com',
      ]);
      expect(readFileSync(path.join(forced!.patchDir!, 'sc.delete.csv'), 'utf8')).toMatch(
        /person@x\.com,delete,sc,"extra: source src does not hold it; not added by unsub-recon, planned because of --delete-foreign/,
      );
    });

    it('refuses deletes above maxDeletes', async () => {
      const [capped] = (await plan(['capped'])).groups;
      expect(capped!.status).toBe('refused');
      expect(capped!.refusals[0]).toBe('group capped: 1 deletes planned for sc, above maxDeletes 0');
    });

    it('refuses when the source lost more than maxDeleteFraction since its previous full snapshot', async () => {
      await seedSourceSnapshots(warehouse, 10);
      const [tight] = (await plan(['tight'])).groups;
      expect(tight!.targets).toEqual([
        { target: 'sg2', provider: 'sendgrid-reseller', adds: 0, deletes: 1, manual: 0, list_size: 200 },
      ]);
      expect(tight!.status).toBe('refused');
      expect(tight!.source_shrink).toEqual({
        account: 'src',
        previous_size: 100,
        removed: 10,
        fraction: 0.1,
      });
      expect(tight!.refusals[0]).toBe(
        'group tight: source src lost 10 of the 100 addresses of its previous full snapshot (run E1) in its latest (run E2): ' +
          '10.00%, above maxDeleteFraction 0.01 (1.00%) — a sudden shrink looks like a broken read, and mirroring it would delete opt-outs',
      );
    });

    it('a source that lost little passes the shrink check (0.5% of its list to delete is within 1%)', async () => {
      await seedSourceSnapshots(warehouse, 1);
      const [tight] = (await plan(['tight'])).groups;
      expect(tight!.status).toBe('planned');
      expect(tight!.source_shrink).toEqual({
        account: 'src',
        previous_size: 100,
        removed: 1,
        fraction: 0.01,
      });
      expect(readRows(path.join(tight!.patchDir!, 'sg2.delete.csv')).map((r) => r.email)).toEqual([
        'own2@x.com',
      ]);
    });

    it('refuses a group the last transform did not diff, or never saw; --force does not override that', async () => {
      const groups = (await plan(['blocked', 'never', 'u'], { force: ['blocked', 'never'] })).groups;
      expect(groups.map((g) => g.status)).toEqual(['refused', 'refused', 'planned']);
      expect(groups[0]!.refusals[0]).toMatch(
        /^group blocked: the last transform \(run T1\) did not diff group blocked: sc: latest extraction \(run E9\) is incomplete/,
      );
      expect(groups[1]!.refusals[0]).toMatch(/^group never: the last transform did not diff group never/);
    });

    it('adds only for migrate (addsOnly), and only the named targets', async () => {
      const [m] = (await plan(['m'], { addsOnly: true, targets: ['wc'] })).groups;
      expect(m!.targets.map((t) => [t.target, t.adds, t.deletes, t.manual])).toEqual([['wc', 1, 0, 0]]);
      expect(m!.files.map((f) => f.path)).toEqual(['wc.add.csv']);
    });

    it('never rewrites an earlier patch folder', async () => {
      await plan(['u']);
      await expect(plan(['u'])).rejects.toThrow(/already exists; a patch folder is never rewritten/);
    });

    describe('the files read back through loadPatch (what replay checks)', () => {
      it('accepts them as written', async () => {
        const [m] = (await plan(['m'])).groups;
        const patch = loadPatch(m!.patchDir!, config);
        expect(patch.files.map((f) => [f.patchId, f.rows.length])).toEqual([
          ['20250301T000000Z-abcdef/m/sc.add', 1],
          ['20250301T000000Z-abcdef/m/sc.delete', 1],
          ['20250301T000000Z-abcdef/m/wc.add', 1],
          ['20250301T000000Z-abcdef/m/bh.add', 1],
        ]);
        expect(patch.manual.map((f) => f.path)).toEqual(['wc.manual.csv']);
        expect(loadPatch(path.join(m!.patchDir!, MANIFEST_FILE), config).manifestSha256).toBe(
          patch.manifestSha256,
        );
      });

      it.each([
        [
          'a changed byte',
          (d: string) => appendFileSync(path.join(d, 'sc.add.csv'), ' '),
          /sc\.add\.csv: sha256 [0-9a-f]{64} differs from the manifest's/,
        ],
        [
          'an unlisted file',
          (d: string) => writeFileSync(path.join(d, 'sg2.add.csv'), 'x'),
          /sg2\.add\.csv not listed in manifest\.json/,
        ],
      ])('refuses the whole patch for %s', async (_name, tamper, message) => {
        const [u] = (await plan(['u'])).groups;
        tamper(u!.patchDir!);
        expect(() => loadPatch(u!.patchDir!, config)).toThrow(PatchError);
        expect(() => loadPatch(u!.patchDir!, config)).toThrow(message);
      });

      it('refuses a target that is not in the config, or configured as another provider', async () => {
        const [u] = (await plan(['u'])).groups;
        const without = { ...config, accounts: config.accounts.filter((a) => a.id !== 'wc') };
        expect(() => loadPatch(u!.patchDir!, without)).toThrow(
          /target account "wc" is not in the config .*Nothing was sent/,
        );
        const other = {
          ...config,
          accounts: config.accounts.map((a) =>
            a.id === 'wc' ? { ...a, provider: 'bluehornet' as const } : a,
          ),
        };
        expect(() => loadPatch(u!.patchDir!, other)).toThrow(
          /planned for a whatcounts account, but "wc" is configured as bluehornet/,
        );
      });
    });
  });
});

describe('planPatches streams files of many DuckDB chunks (2,048 rows each)', () => {
  const ROWS = 6000;
  const EXTRA = 5000;
  const pad = (i: number) => String(i).padStart(5, '0');
  // Spellings that need CSV quoting or trimming, spread over the chunks.
  const spelling = (i: number) =>
    i % 7 === 0 ? ` P${pad(i)}@X.com ` : i % 11 === 0 ? `"q,${pad(i)}"@x.com` : `p${pad(i)}@x.com`;
  const sent = (i: number) => spelling(i).trim();
  const at = (i: number) => new Date(Date.UTC(2024, 0, 1) + i * 1000).toISOString().replace('.000Z', 'Z');

  beforeEach(async () => {
    await warehouse.run(
      `CREATE TABLE group_status AS SELECT * FROM (VALUES
         ('T1', 'u', 'union',  ['src','sc','wc'],      true, false, []::VARCHAR[], NULL),
         ('T1', 'm', 'mirror', ['src','sc','wc','bh'], true, false, []::VARCHAR[], NULL)
       ) t(run_id, group_id, policy, members, diffed, allowed_incomplete, incomplete_accounts, detail);
       CREATE TABLE suppressions (account_id VARCHAR, provider VARCHAR, email VARCHAR, email_norm VARCHAR,
         scope VARCHAR, unsubscribed_at TIMESTAMPTZ, expires_at TIMESTAMPTZ, active BOOLEAN);
       DROP VIEW suppression_events;
       CREATE TABLE suppression_events (account_id VARCHAR, email_norm VARCHAR, scope VARCHAR, event VARCHAR,
                                        observed_at TIMESTAMPTZ, run_id VARCHAR);`,
    );
    await warehouse.run(
      `CREATE TABLE discrepancies AS
         SELECT 'T1' AS run_id, 'u' AS group_id, 'p' || lpad(i::VARCHAR, 5, '0') || '@x.com' AS email_norm,
                ['src'] AS present_in, ['sc','wc'] AS missing_from,
                TIMESTAMPTZ '2024-01-01 00:00:00+00' + to_seconds(i) AS first_unsubscribed_at, 'missing' AS kind
         FROM range($1) r(i)
         UNION ALL
         SELECT 'T1', 'm', 'p' || lpad(i::VARCHAR, 5, '0') || '@x.com', ['sc','wc'], ['src'], NULL, 'extra'
         FROM range($2) r(i)`,
      [ROWS, EXTRA],
    );
    const appender = await warehouse.connection.createAppender('suppressions');
    const suppression = (account: string, provider: string, i: number) => {
      appender.appendVarchar(account);
      appender.appendVarchar(provider);
      appender.appendVarchar(spelling(i));
      appender.appendVarchar(`p${pad(i)}@x.com`);
      appender.appendVarchar('global');
      appender.appendNull();
      appender.appendNull();
      appender.appendBoolean(true);
      appender.endRow();
    };
    for (let i = 0; i < ROWS; i++) suppression('src', 'sendgrid-subuser', i);
    for (let i = 0; i < EXTRA; i++) {
      suppression('sc', 'sendcloud', i);
      suppression('wc', 'whatcounts', i);
    }
    appender.closeSync();
  });

  /** The file's bytes must be csv-stringify's of the same rows built in memory; the manifest agrees. */
  function expectFile(patchDir: string, file: string, rows: PatchRow[]): void {
    const bytes = readFileSync(path.join(patchDir, file));
    expect(bytes.equals(Buffer.from(patchCsv(rows), 'utf8'))).toBe(true);
    const manifest = JSON.parse(readFileSync(path.join(patchDir, MANIFEST_FILE), 'utf8'));
    const entry = manifest.files.find((f: { path: string }) => f.path === file);
    expect(entry).toMatchObject({ rows: rows.length, sha256: sha256Hex(bytes) });
  }

  it('adds: one stream cut into a file per target, each byte-identical to the in-memory CSV', async () => {
    const [u] = (await plan(['u'])).groups;
    expect(u!.status).toBe('planned');
    expect(u!.files.map((f) => [f.path, f.rows])).toEqual([
      ['sc.add.csv', ROWS],
      ['wc.add.csv', ROWS],
    ]);
    for (const target of ['sc', 'wc']) {
      expectFile(
        u!.patchDir!,
        `${target}.add.csv`,
        Array.from({ length: ROWS }, (_, i) => ({
          email: sent(i),
          op: 'add' as const,
          target_account: target,
          reason: `missing from ${target}; held by src (group u, union; diff run T1)`,
          source_accounts: 'src',
          source_unsubscribed_at: at(i),
        })),
      );
    }
    expect(loadPatch(u!.patchDir!, config).files.map((f) => f.rows.length)).toEqual([ROWS, ROWS]);
  });

  it('deletes and manual rows (--delete-foreign --force) across chunk boundaries', async () => {
    const [m] = (await plan(['m'], { deleteForeign: true, force: ['m'] })).groups;
    expect(m!.status).toBe('planned');
    expect(m!.files.map((f) => [f.path, f.rows])).toEqual([
      ['sc.delete.csv', EXTRA],
      ['wc.manual.csv', EXTRA],
    ]);
    const reason =
      'extra: source src does not hold it; not added by unsub-recon, planned because of --delete-foreign (diff run T1)';
    const row = (target: string, i: number) => ({
      email: sent(i),
      op: 'delete' as PatchRow['op'],
      target_account: target,
      reason,
      source_accounts: 'src',
      source_unsubscribed_at: '',
    });
    expectFile(
      m!.patchDir!,
      'sc.delete.csv',
      Array.from({ length: EXTRA }, (_, i) => row('sc', i)),
    );
    const caveat = m!.files.find((f) => f.path === 'wc.manual.csv')!.why;
    expect(caveat).toMatch(/re-subscribes someone/);
    expectFile(
      m!.patchDir!,
      'wc.manual.csv',
      Array.from({ length: EXTRA }, (_, i) => ({
        ...row('wc', i),
        op: 'manual' as const,
        reason: `manual, not replayed: ${reason}. whatcounts cannot delete it safely: ${caveat}`,
      })),
    );
  });
});

describe('planSelection (the command line)', () => {
  it.each([
    [{ group: ['nope'] }, /--group nope: no such group; expected one of u, m, capped, tight, blocked, never/],
    [{ group: ['u'], force: ['m'] }, /--force m: not a group being planned/],
    [{ group: ['u'], target: ['bh'] }, /--target bh: not a member of u/],
    [{ group: ['m'], target: ['src'] }, /--target src: it is the source of m, never a target/],
  ])('refuses %j', (options, message) => {
    const cfg = makeConfig(mkdtempSync(path.join(tmpdir(), 'unsub-plan-sel-')));
    expect(() => planSelection(cfg, options)).toThrow(message);
  });
});
