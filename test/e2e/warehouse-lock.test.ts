// Single writer across real processes: DuckDB's OS file lock plus the `.lock` file that names the
// holder. The holder is test/fixtures/hold-warehouse.ts, so each case pays one tsx start-up.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ABANDONED_RUN_ERROR, lockPathFor, Warehouse } from '../../extractors/core/warehouse.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const fixture = 'test/fixtures/hold-warehouse.ts';

interface Held {
  pid: number;
  runId: string;
  committedRunId: string;
  startedAt: string;
}

let dir: string;
let file: string;
const children: ChildProcess[] = [];

function start(mode: 'hold' | 'open' | 'read'): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, file, mode], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  return child;
}

/** Starts a holder and resolves once it has a run in progress. */
async function hold(): Promise<{ child: ChildProcess; held: Held }> {
  const child = start('hold');
  const held = await new Promise<Held>((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const line = /^ready (.*)$/m.exec(out);
      if (line?.[1] !== undefined) resolve(JSON.parse(line[1]) as Held);
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      err += chunk.toString();
    });
    child.on('exit', (code) => reject(new Error(`holder exited with ${code} before ready: ${err}`)));
  });
  return { child, held };
}

async function finish(child: ChildProcess): Promise<{ code: number | null; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  return { code, stdout, stderr };
}

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'warehouse-lock-'));
  file = path.join(dir, 'warehouse.duckdb');
});

afterEach(() => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('warehouse lock across processes', () => {
  it('turns a second writer and a reader away with exit 1, naming the holder', async () => {
    const { child: holder, held } = await hold();
    expect(held.startedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

    const [writer, reader] = await Promise.all([finish(start('open')), finish(start('read'))]);
    for (const refused of [writer, reader]) {
      expect(refused.code).toBe(1);
      expect(refused.stdout).toBe('');
      expect(refused.stderr).toContain(`is in use by pid ${held.pid} `);
      expect(refused.stderr).toContain(`run ${held.runId}`);
      expect(refused.stderr).toContain(`started ${held.startedAt}`);
    }
    // Turned away without touching the holder's run or its lock file.
    expect(holder.exitCode).toBeNull();
    expect(JSON.parse(readFileSync(lockPathFor(file), 'utf8'))).toMatchObject({
      pid: held.pid,
      runId: held.runId,
    });
  });

  it('takes over after the holder is killed with -9 and cleans up its run', async () => {
    const { child: holder, held } = await hold();
    const killed = new Promise((resolve) => holder.on('exit', resolve));
    holder.kill('SIGKILL');
    await killed;
    // SIGKILL runs no exit handler: the lock file is left behind, stale.
    expect(JSON.parse(readFileSync(lockPathFor(file), 'utf8'))).toMatchObject({ pid: held.pid });

    const next = await finish(start('open'));
    expect(next.code).toBe(0);
    expect(next.stderr).toContain(
      `took over stale lock ${lockPathFor(file)} from pid ${held.pid} (run ${held.runId}`,
    );
    const report = JSON.parse(next.stdout) as { recoveredLock: { pid: number }; abandonedRuns: string[] };
    expect(report.recoveredLock.pid).toBe(held.pid);
    expect(report.abandonedRuns).toEqual([held.runId]);
    expect(existsSync(lockPathFor(file))).toBe(false);

    const warehouse = await Warehouse.open(file, { mode: 'read', command: 'test' });
    try {
      expect(await warehouse.all('SELECT run_id, status, error FROM runs ORDER BY started_at')).toEqual([
        { run_id: held.committedRunId, status: 'succeeded', error: null },
        { run_id: held.runId, status: 'failed', error: ABANDONED_RUN_ERROR },
      ]);
      expect(await warehouse.all('SELECT run_id, count(*) AS n FROM stage_raw_rows GROUP BY run_id')).toEqual(
        [{ run_id: held.committedRunId, n: 2n }],
      );
    } finally {
      await warehouse.close();
    }
  });
});
