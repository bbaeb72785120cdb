/**
 * A run's directory, `<outDir>/<run_id>/`: what an operator opens in the morning. It holds the
 * report and patch files (written by their own modules under `report/` and `patches/`), `run.log`
 * (JSON lines, every line through the one redactor) and, written last, `manifest.json` with the
 * sha256 of every other file — so a later reader can tell the directory is whole and untouched.
 *
 * A directory is created exactly once: creating one that exists fails, so a run can never
 * rewrite an earlier run's files (run ids are unique, see Warehouse.newRunId).
 */
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { UnsubReconError } from '../extractors/core/errors.js';
import type { Redactor } from '../extractors/core/redact.js';
import { jsonReplacer } from './output.js';
import { sha256Hex } from './patch/format.js';

export const RUN_LOG = 'run.log';
export const MANIFEST = 'manifest.json';
export const SUMMARY = 'summary.json';

/** `YYYYMMDDTHHMMSSZ-xxxxxx` (Warehouse.newRunId): only such names are ever pruned. */
export const RUN_ID_PATTERN = /^\d{8}T\d{6}Z-[0-9a-f]{6}$/;

/** The run directory cannot be created or written. */
export class RunDirectoryError extends UnsubReconError {
  readonly code = 'RUN_DIR';
}

export interface ManifestFile {
  /** Relative to the run directory, `/`-separated. */
  path: string;
  bytes: number;
  /** Lowercase hex. */
  sha256: string;
}

export interface RunManifest {
  run_id: string;
  written_at: string;
  files: ManifestFile[];
}

export type LogLevel = 'info' | 'warn' | 'error';

export class RunDirectory {
  private sealed = false;

  private constructor(
    readonly runId: string,
    /** Absolute path of `<outDir>/<run_id>`. */
    readonly dir: string,
    private readonly redact: Redactor,
    private readonly now: () => Date,
  ) {}

  /**
   * Creates `<outDir>/<runId>/` (and `outDir` if missing).
   * @throws RunDirectoryError when the run id is not a run id, or the directory already exists
   *   (an earlier run's files are never rewritten) or cannot be created.
   */
  static create(outDir: string, runId: string, redact: Redactor, now: () => Date = () => new Date()) {
    if (!RUN_ID_PATTERN.test(runId)) {
      throw new RunDirectoryError(`run id "${runId}" is not of the form YYYYMMDDTHHMMSSZ-xxxxxx`);
    }
    const dir = path.resolve(outDir, runId);
    try {
      mkdirSync(path.dirname(dir), { recursive: true });
      mkdirSync(dir); // not recursive: fails with EEXIST rather than reuse a directory
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new RunDirectoryError(
        code === 'EEXIST'
          ? `run directory ${dir} already exists; a run never rewrites another run's files`
          : `cannot create run directory ${dir} (${code ?? (error as Error).message}); check outDir in the config`,
        { cause: error },
      );
    }
    return new RunDirectory(runId, dir, redact, now);
  }

  /** Absolute path of a file or folder inside the run directory. */
  pathOf(...parts: string[]): string {
    return path.join(this.dir, ...parts);
  }

  /** Appends one JSON line to run.log: `{at, level, event, run_id, ...fields}`, redacted. */
  log(event: string, fields: Record<string, unknown> = {}, level: LogLevel = 'info'): void {
    this.assertOpen();
    const line = JSON.stringify({
      at: this.now().toISOString(),
      level,
      event,
      run_id: this.runId,
      ...fields,
    });
    // The redactor's replacement (`***`) holds no JSON metacharacter, so the line stays valid JSON.
    appendFileSync(this.pathOf(RUN_LOG), `${this.redact(line)}\n`);
  }

  /** Writes a JSON file (pretty, newline-terminated), redacted. */
  writeJson(relative: string, data: unknown): string {
    this.assertOpen();
    const file = this.pathOf(relative);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, `${this.redact(JSON.stringify(data, jsonReplacer, 2))}\n`);
    return file;
  }

  /**
   * Writes manifest.json with the sha256 of every other file, and closes the directory: nothing
   * may be written after it.
   */
  seal(): RunManifest {
    this.assertOpen();
    const manifest: RunManifest = {
      run_id: this.runId,
      written_at: this.now().toISOString(),
      files: hashFiles(this.dir),
    };
    writeFileSync(this.pathOf(MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
    this.sealed = true;
    return manifest;
  }

  private assertOpen(): void {
    if (this.sealed)
      throw new RunDirectoryError(`run directory ${this.dir} is sealed (manifest.json written)`);
  }
}

/** Every file under `dir` except the top-level manifest, sorted by path, with size and sha256. */
export function hashFiles(dir: string): ManifestFile[] {
  const files: ManifestFile[] = [];
  const walk = (relative: string): void => {
    for (const entry of readdirSync(path.join(dir, relative), { withFileTypes: true })) {
      const rel = relative === '' ? entry.name : `${relative}/${entry.name}`;
      if (entry.isDirectory()) walk(rel);
      else if (entry.isFile() && rel !== MANIFEST) {
        const bytes = readFileSync(path.join(dir, rel));
        files.push({
          path: rel,
          bytes: bytes.length,
          sha256: sha256Hex(bytes),
        });
      }
    }
  };
  walk('');
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

export interface ManifestCheck {
  status: 'ok' | 'missing' | 'mismatch';
  /** Files whose hash or size differs, that are gone, or that the manifest does not list. */
  problems: string[];
}

/** Compares a run directory with its manifest.json. */
export function checkManifest(dir: string): ManifestCheck {
  const file = path.join(dir, MANIFEST);
  if (!existsSync(file)) return { status: 'missing', problems: [] };
  const manifest = JSON.parse(readFileSync(file, 'utf8')) as RunManifest;
  const actual = new Map(hashFiles(dir).map((f) => [f.path, f]));
  const problems: string[] = [];
  for (const listed of manifest.files) {
    const found = actual.get(listed.path);
    if (!found) problems.push(`${listed.path}: missing`);
    else if (found.sha256 !== listed.sha256) problems.push(`${listed.path}: sha256 differs`);
    actual.delete(listed.path);
  }
  for (const extra of actual.keys()) problems.push(`${extra}: not in the manifest`);
  return { status: problems.length === 0 ? 'ok' : 'mismatch', problems };
}

export interface RunDirectoryEntry {
  runId: string;
  dir: string;
}

/** Run directories under `outDir`, newest first (run ids sort by start time). */
export function listRunDirectories(outDir: string): RunDirectoryEntry[] {
  if (!existsSync(outDir)) return [];
  return readdirSync(outDir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && RUN_ID_PATTERN.test(e.name))
    .map((e) => ({ runId: e.name, dir: path.join(outDir, e.name) }))
    .sort((a, b) => (a.runId < b.runId ? 1 : a.runId > b.runId ? -1 : 0));
}

/** A run's summary.json, or undefined when it has none (a run of another command, or cut short). */
export function readSummary<T = Record<string, unknown>>(dir: string): T | undefined {
  const file = path.join(dir, SUMMARY);
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch (error) {
    throw new RunDirectoryError(`${file} is not valid JSON (${(error as Error).message})`, { cause: error });
  }
}

export interface PruneResult {
  kept: string[];
  removed: Array<{ runId: string; dir: string; bytes: number }>;
}

/**
 * Removes all but the newest `keep` run directories under `outDir`. Only folders named like a
 * run id are considered; those in `protect` (a run still in progress) are never removed. Touches
 * no file outside those folders, and never the warehouse.
 */
export function pruneRunDirectories(
  outDir: string,
  keep: number,
  options: { protect?: ReadonlySet<string>; dryRun?: boolean } = {},
): PruneResult {
  const result: PruneResult = { kept: [], removed: [] };
  for (const [index, entry] of listRunDirectories(outDir).entries()) {
    if (index < keep || options.protect?.has(entry.runId)) {
      result.kept.push(entry.runId);
      continue;
    }
    const bytes = directorySize(entry.dir);
    if (!options.dryRun) rmSync(entry.dir, { recursive: true, force: true });
    result.removed.push({ ...entry, bytes });
  }
  return result;
}

function directorySize(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) total += directorySize(full);
    else if (entry.isFile()) total += statSync(full).size;
  }
  return total;
}
