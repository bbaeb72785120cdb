/**
 * Where commands write. Results go to stdout (one JSON object with --json, a human table
 * otherwise); progress and notes go to stderr so stdout stays parseable; --quiet silences notes.
 */
import type { Writable } from 'node:stream';

export interface OutputOptions {
  json: boolean;
  quiet: boolean;
  stdout?: Writable;
  stderr?: Writable;
}

export class Output {
  readonly json: boolean;
  readonly quiet: boolean;
  private readonly stdout: Writable;
  private readonly stderr: Writable;
  private resultWritten = false;

  constructor(options: OutputOptions) {
    this.json = options.json;
    this.quiet = options.quiet;
    this.stdout = options.stdout ?? process.stdout;
    this.stderr = options.stderr ?? process.stderr;
  }

  /** The command's one result: `data` as JSON with --json, else `human()` as text. */
  result(data: Record<string, unknown> | unknown[], human: () => string): void {
    if (this.resultWritten) throw new Error('a command writes exactly one result');
    this.resultWritten = true;
    this.stdout.write(this.json ? `${JSON.stringify(data, jsonReplacer)}\n` : ensureNewline(human()));
  }

  get hasResult(): boolean {
    return this.resultWritten;
  }

  /** A progress note or hint, on stderr; dropped with --quiet. */
  note(message: string): void {
    if (!this.quiet) this.stderr.write(ensureNewline(message));
  }

  /** A warning or error, on stderr, even with --quiet. */
  error(message: string): void {
    this.stderr.write(ensureNewline(message));
  }

  get stderrIsTty(): boolean {
    return Boolean((this.stderr as Writable & { isTTY?: boolean }).isTTY);
  }
}

/** BIGINTs become numbers when exact, else strings; Dates become ISO 8601 UTC. */
export function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') {
    return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER)
      ? Number(value)
      : value.toString();
  }
  return value;
}

function ensureNewline(text: string): string {
  return text.endsWith('\n') ? text : `${text}\n`;
}

/** A plain fixed-width table; values are stringified, long cells kept whole. */
export function formatTable(rows: ReadonlyArray<Record<string, unknown>>, columns?: string[]): string {
  const cols = columns ?? (rows[0] ? Object.keys(rows[0]) : []);
  if (cols.length === 0) return '(no rows)\n';
  const cells = rows.map((row) => cols.map((c) => cellText(row[c])));
  const widths = cols.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i]!.length)));
  const line = (values: string[]) =>
    values
      .map((v, i) => v.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  const out = [line(cols), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)];
  if (rows.length === 0) out.push('(no rows)');
  return `${out.join('\n')}\n`;
}

function cellText(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'object') return JSON.stringify(value, jsonReplacer);
  return String(value).replace(/[\r\n\t]/g, ' ');
}
