import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createRedactor } from '../../../extractors/core/redact.js';
import { newRunId } from '../../../extractors/core/warehouse.js';
import {
  checkManifest,
  listRunDirectories,
  pruneRunDirectories,
  RunDirectory,
  RunDirectoryError,
} from '../../../pipelines/run-dir.js';

const SECRET = 'hunter2-secret-token';
const redact = createRedactor([SECRET]);
const fresh = () => mkdtempSync(path.join(tmpdir(), 'unsub-rundir-'));
const runIdAt = (iso: string) => newRunId(new Date(iso));

describe('RunDirectory', () => {
  it('is created once: a second create of the same run id fails and leaves the files alone', () => {
    const outDir = path.join(fresh(), 'runs'); // created on demand
    const runId = newRunId();
    const dir = RunDirectory.create(outDir, runId, redact);
    dir.writeJson('summary.json', { ok: true });
    expect(() => RunDirectory.create(outDir, runId, redact)).toThrowError(
      new RegExp(`run directory .*${runId} already exists; a run never rewrites`),
    );
    expect(JSON.parse(readFileSync(dir.pathOf('summary.json'), 'utf8'))).toEqual({ ok: true });
  });

  it('refuses a name that is not a run id (it becomes a path)', () => {
    expect(() => RunDirectory.create(fresh(), '../etc', redact)).toThrowError(RunDirectoryError);
  });

  it('run.log is JSON lines, one object per event, with the secret redacted', () => {
    const dir = RunDirectory.create(fresh(), newRunId(), redact, () => new Date('2026-01-02T03:04:05Z'));
    dir.log('step-start', { step: 'extract' });
    dir.log('step-done', { step: 'extract', error: `GET https://x/?api_key=${SECRET} failed` }, 'error');
    const lines = readFileSync(dir.pathOf('run.log'), 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    const [start, done] = lines.map((l) => JSON.parse(l));
    expect(start).toEqual({
      at: '2026-01-02T03:04:05.000Z',
      level: 'info',
      event: 'step-start',
      run_id: dir.runId,
      step: 'extract',
    });
    expect(done.level).toBe('error');
    expect(done.error).toBe('GET https://x/?api_key=*** failed');
    expect(lines.join('\n')).not.toContain(SECRET);
  });

  it('manifest.json is written last with the sha256 of every other file, and seals the directory', () => {
    const dir = RunDirectory.create(fresh(), newRunId(), redact);
    dir.log('x');
    mkdirSync(dir.pathOf('report'));
    writeFileSync(dir.pathOf('report', 'index.html'), '<p>hi</p>');
    dir.writeJson('summary.json', { n: 1n });
    const manifest = dir.seal();
    expect(manifest.files.map((f) => f.path)).toEqual(['report/index.html', 'run.log', 'summary.json']);
    const html = manifest.files[0]!;
    expect(html.sha256).toBe(createHash('sha256').update('<p>hi</p>').digest('hex'));
    expect(html.bytes).toBe(9);
    expect(JSON.parse(readFileSync(dir.pathOf('manifest.json'), 'utf8'))).toEqual(manifest);
    expect(checkManifest(dir.dir)).toEqual({ status: 'ok', problems: [] });
    expect(() => dir.log('late')).toThrowError(/sealed/);

    writeFileSync(dir.pathOf('report', 'index.html'), '<p>changed</p>');
    writeFileSync(dir.pathOf('extra.txt'), 'x');
    expect(checkManifest(dir.dir)).toEqual({
      status: 'mismatch',
      problems: ['report/index.html: sha256 differs', 'extra.txt: not in the manifest'],
    });
  });
});

describe('pruneRunDirectories', () => {
  it('keeps the newest N run directories, spares protected runs, and touches nothing else', () => {
    const outDir = fresh();
    const ids = ['2026-01-01', '2026-01-02', '2026-01-03', '2026-01-04'].map((d) =>
      runIdAt(`${d}T02:00:00Z`),
    );
    for (const id of ids) RunDirectory.create(outDir, id, redact).writeJson('summary.json', { id });
    writeFileSync(path.join(outDir, 'warehouse.duckdb'), 'not a run');
    mkdirSync(path.join(outDir, 'notes'));

    expect(listRunDirectories(outDir).map((d) => d.runId)).toEqual([...ids].reverse());
    const dry = pruneRunDirectories(outDir, 1, { dryRun: true, protect: new Set([ids[0]!]) });
    expect(dry.removed.map((r) => r.runId)).toEqual([ids[2], ids[1]]);
    expect(ids.every((id) => existsSync(path.join(outDir, id)))).toBe(true);

    const done = pruneRunDirectories(outDir, 1, { protect: new Set([ids[0]!]) });
    expect(done.kept).toEqual([ids[3], ids[0]]);
    expect(done.removed.map((r) => r.runId)).toEqual([ids[2], ids[1]]);
    expect(done.removed[0]!.bytes).toBeGreaterThan(0);
    expect(listRunDirectories(outDir).map((d) => d.runId)).toEqual([ids[3], ids[0]]);
    expect(existsSync(path.join(outDir, 'warehouse.duckdb'))).toBe(true);
    expect(existsSync(path.join(outDir, 'notes'))).toBe(true);
  });
});
