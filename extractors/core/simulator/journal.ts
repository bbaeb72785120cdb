/**
 * The simulator's request journal: one entry per request, secrets masked, readable by tests
 * ("was the delete ever sent?", "how many reads did the retry take?").
 */
import { REDACTED, type Redactor, SECRET_FIELD_NAMES } from '../redact.js';
import type { FaultKind, RequestKind } from './faults.js';

export interface JournalEntry {
  /** 1-based arrival order across the whole simulator. */
  readonly seq: number;
  /** Arrival instant, epoch ms (wall clock, not the simulated clock). */
  readonly at: number;
  readonly method: string;
  /** URL path, redacted. */
  readonly path: string;
  /** Query + form parameters (form wins), each value masked: secret names → ***, secret values → ***. */
  readonly params: Readonly<Record<string, string>>;
  /** Status sent, set just before the headers go out; null if no headers were ever sent. */
  readonly status: number | null;
  /** The account's `id` (never its key or credentials), if the request resolved to one. */
  readonly account?: string;
  readonly kind: RequestKind;
  readonly faults: readonly FaultKind[];
  /** Set when the response ended or the socket closed. */
  readonly durationMs?: number;
  /** Free annotations from the handler (`ctx.note`) and the kit (handler errors). */
  readonly notes: readonly string[];
}

type MutableEntry = { -readonly [K in keyof JournalEntry]: JournalEntry[K] } & { notes: string[] };

const SECRET_NAMES: ReadonlySet<string> = new Set(SECRET_FIELD_NAMES);

/** Masks parameter values: by name (the redactor's name list) and by value (configured secrets). */
export function maskParams(
  params: Readonly<Record<string, string>>,
  redact: Redactor,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(params)) {
    out[name] = SECRET_NAMES.has(name.toLowerCase()) ? REDACTED : redact(value);
  }
  return out;
}

/** Read and other entries kept (the most recent); writes are always kept. */
export const JOURNAL_READ_RETENTION = 10_000;

export class Journal {
  private list: MutableEntry[] = [];
  private total = 0;

  /**
   * Writes are few and every one matters to replay tests, so all are kept; reads are kept up to
   * `readRetention` (the most recent), so a simulator serving a 5M-row account page by page
   * keeps flat memory instead of one entry per page.
   */
  constructor(
    private readonly redactor: () => Redactor,
    private readonly readRetention = JOURNAL_READ_RETENTION,
  ) {}

  /** Appends an entry at arrival (kit use); the returned object is updated as the request proceeds. */
  open(init: {
    seq: number;
    at: number;
    method: string;
    path: string;
    params: Readonly<Record<string, string>>;
    account?: string | undefined;
    kind: RequestKind;
    faults: readonly FaultKind[];
  }): MutableEntry {
    const redact = this.redactor();
    const entry: MutableEntry = {
      seq: init.seq,
      at: init.at,
      method: init.method,
      path: redact(init.path),
      params: maskParams(init.params, redact),
      status: null,
      kind: init.kind,
      faults: init.faults,
      notes: [],
    };
    if (init.account !== undefined) entry.account = init.account;
    this.list.push(entry);
    this.total += 1;
    if (this.list.length >= 2 * this.readRetention) this.compact();
    return entry;
  }

  /** Entries in arrival order, optionally filtered. */
  entries(filter?: (entry: JournalEntry) => boolean): readonly JournalEntry[] {
    return filter ? this.list.filter(filter) : [...this.list];
  }

  reads(account?: string): readonly JournalEntry[] {
    return this.entries((e) => e.kind === 'read' && (account === undefined || e.account === account));
  }

  writes(account?: string): readonly JournalEntry[] {
    return this.entries((e) => e.kind === 'write' && (account === undefined || e.account === account));
  }

  /** Requests journaled since the start or the last clear(), including reads no longer retained. */
  get size(): number {
    return this.total;
  }

  private compact(): void {
    let readsToDrop = this.list.filter((e) => e.kind !== 'write').length - this.readRetention;
    this.list = this.list.filter((e) => e.kind === 'write' || readsToDrop-- <= 0);
  }

  clear(): void {
    this.list = [];
    this.total = 0;
  }

  /** Masks a free text with the current secrets (used for notes). */
  redact(text: string): string {
    return this.redactor()(text);
  }
}
