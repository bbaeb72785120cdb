/**
 * A child process whose memory and CPU bench/scale.ts measures: runs `node ARGS`, samples
 * `/proc/<pid>/status` and `/proc/<pid>/stat` every 100 ms (Linux), and returns its output, exit
 * code, wall time, the kernel's peak resident set (`VmHWM`, the highest value read; it only grows,
 * so what can be missed is growth in the last 100 ms before exit) and a timeline of `VmRSS` and
 * CPU time for attributing memory and CPU to the run's steps.
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface ProcessSample {
  /** Epoch ms. */
  at: number;
  /** VmRSS. */
  bytes: number;
  /** CPU time used so far by all the process's threads (DuckDB's included), user + system. */
  cpuSeconds: number;
}

export interface MeasuredProcess {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  seconds: number;
  /** When it exited, epoch ms. */
  endedAt: number;
  /** Highest VmHWM read; null where /proc is not available. */
  peakRss: number | null;
  samples: ProcessSample[];
}

const SAMPLE_MS = 100;

/** VmHWM and VmRSS in bytes, or null once the process is gone (or on a system without /proc). */
function memoryOf(pid: number): { hwm: number; rss: number } | null {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  const hwm = kib('VmHWM');
  const rss = kib('VmRSS');
  // A zombie (exited, not yet reaped) has no memory lines.
  return Number.isNaN(hwm) || Number.isNaN(rss) ? null : { hwm: hwm * 1024, rss: rss * 1024 };
}

/** Clock ticks per second of /proc's CPU times (`getconf CLK_TCK`; 100 on Linux unless configured otherwise). */
const ticksPerSecond = (() => {
  try {
    const ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isInteger(ticks) && ticks > 0 ? ticks : 100;
  } catch {
    return 100;
  }
})();

/** utime + stime of every thread, in seconds, or null once the process is gone. */
function cpuSecondsOf(pid: number): number | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // Fields after the command name, which is in parentheses and may itself hold spaces: the
  // 3rd field of the line (state) is the first here, so utime (14th) and stime (15th) are 11 and 12.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return Number.isFinite(ticks) ? ticks / ticksPerSecond : null;
}

/** Runs `node ...args` with exactly `env`, measuring it until it exits. */
export function runMeasured(
  args: readonly string[],
  options: { cwd: string; env: NodeJS.ProcessEnv },
): Promise<MeasuredProcess> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, args, {
      cwd: options.cwd,
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => stdout.push(d));
    child.stderr.on('data', (d: Buffer) => stderr.push(d));
    const samples: ProcessSample[] = [];
    let peakRss: number | null = null;
    const sample = () => {
      if (child.pid === undefined) return;
      const memory = memoryOf(child.pid);
      const cpuSeconds = cpuSecondsOf(child.pid);
      if (!memory || cpuSeconds === null) return;
      peakRss = Math.max(peakRss ?? 0, memory.hwm);
      samples.push({ at: Date.now(), bytes: memory.rss, cpuSeconds });
    };
    const timer = setInterval(sample, SAMPLE_MS);
    child.on('error', (error) => {
      clearInterval(timer);
      reject(error);
    });
    // 'exit' comes before the pipes are drained; 'close' after both.
    child.on('close', (code, signal) => {
      clearInterval(timer);
      resolve({
        code,
        signal,
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8'),
        seconds: (performance.now() - started) / 1000,
        endedAt: Date.now(),
        peakRss,
        samples,
      });
    });
    sample();
  });
}
