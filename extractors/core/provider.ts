/**
 * What a provider module is: a declaration plus pure functions, run by one shared engine
 * (extractors/core/extract.ts). A provider answers three questions — which requests cover a date
 * range (a pure window planner obeying its limits), how to page one window, how to parse a page
 * into raw rows — and supplies a client for writes (replay) and exact single-address checks
 * (verify). It also declares what its accounts look like in the config file (credentials,
 * options, default zone and base URL) and its account in the generated sandbox scenario.
 * Everything provider-specific lives in `extractors/<provider>/`; this file is the contract
 * between those folders and the rest (engine, config, scenario, sandbox, transforms).
 */
import type { z } from 'zod';
import type { AccountConfig } from './config.js';
import type { HttpEngine, HttpResponse, RequestSpec } from './http.js';
import type { Paginator } from './paginate.js';
import type { Simulator, SimulatorOptions } from './simulator/index.js';
import type { InstantRange, ProviderId } from './types.js';

/** One request window, as the engine plans, logs and stores it. */
export interface ExtractWindow extends InstantRange {
  /** Scope the rows of this window belong to: 'global' or 'list:<id>' (WhatCounts lists). */
  readonly scope: string;
  /**
   * What is sent for this window, as the provider names it (e.g. `{ start_date: '2024-01-01',
   * end_date: '2024-01-31' }`, `{ days: 3 }`): stored with the completeness record so an auditor
   * sees exactly which provider range backs each row.
   */
  readonly params: Readonly<Record<string, string>>;
}

/** One row exactly as the provider returned it, plus the fields every transform needs. */
export interface RawRow {
  /** The address exactly as received (no trimming or case change). */
  readonly email: string;
  /** The provider's own timestamp string, untouched; null when the provider gives none (WhatCounts). */
  readonly rawTime: string | null;
  /** SendCloud `expireTime` string and similar; null when none. */
  readonly rawExpires?: string | null;
  /** 'global' or 'list:<id>'. */
  readonly scope: string;
  /** The parsed record as received (JSON-serialisable): the audit trail's evidence. */
  readonly record: Readonly<Record<string, unknown>>;
}

export interface ParsedPage {
  readonly rows: readonly RawRow[];
  /** Total rows (or pages) the provider reports for the window, when it does. */
  readonly total?: number | null;
  readonly cursor?: string | null;
}

/** How precisely a provider's listing reports the unsubscribe time. */
export type TimePrecision = 'second' | 'date' | 'none';

export interface ProviderCapabilities {
  readonly timePrecision: TimePrecision;
  /**
   * Format of `rawTime` for DuckDB's strptime (e.g. '%Y-%m-%d %H:%M:%S'), in the account's zone;
   * 'epoch-seconds' for Unix seconds; 'iso8601' for an instant with its offset (`…T…Z`), which
   * the account's zone does not change; null when there is no time.
   */
  readonly timeFormat: string | null;
  /** The provider's API can undo an opt-out without side effects (no re-subscribe). */
  readonly canDelete: boolean;
  /** Why not, for the plan's "manual" rows, when canDelete is false. */
  readonly deleteCaveat?: string;
  /** Addresses one write request can carry (1 = one call per address). */
  readonly writeBatchSize: number;
}

/** The outcome of writing one address. "Already in state" answers count as success. */
export interface WriteOutcome {
  readonly email: string;
  readonly outcome: 'applied' | 'already' | 'failed';
  /** The provider's answer, redacted, for replay_log. */
  readonly providerMessage: string;
}

/**
 * A client bound to ONE account (never shared between accounts). Write calls take explicit
 * addresses only: the destructive forms the seeds warn about (delete without an address,
 * delete by date window) cannot be expressed through this interface.
 */
export interface ProviderClient {
  add(emails: readonly string[]): Promise<WriteOutcome[]>;
  /** Throws when the provider cannot delete safely (capabilities.canDelete false). */
  remove(emails: readonly string[]): Promise<WriteOutcome[]>;
  /** Exact single-address check: true held, false not held, null when the API cannot tell. */
  holds(email: string, scope?: string): Promise<boolean | null>;
}

export interface ExtractContext {
  readonly account: AccountConfig;
  /** "Now" for this run, epoch ms: the end of an incremental range, the base of `days` requests. */
  readonly now: number;
}

/**
 * What the config file may say about an account of this provider (DESIGN.md "Config file"):
 * extractors/core/config.ts validates every account against its provider's declaration, so a new
 * provider brings its own credential names, options and defaults instead of editing config.ts.
 */
export interface ProviderConfigSpec {
  /** Credential field names: all required, all secret (redacted everywhere). */
  readonly credentials: readonly string[];
  /**
   * zod schema of `options`: a strict object (unknown keys are refused with a "did you mean"),
   * with `.default({})` when every option is optional. Its output is `AccountConfig.options`.
   */
  readonly options: z.ZodType;
  /** IANA zone when the account sets none: the provider notes' documented (or assumed) zone. */
  readonly defaultTimezone: string;
  /** `baseUrl` when the account sets none; may depend on the validated options (a region). */
  readonly defaultBaseUrl: string | ((options: Readonly<Record<string, unknown>>) => string);
}

/**
 * The provider's account in the generated scenario (extractors/core/scenario/generate.ts) that
 * `sandbox`, the demo, the contract suite and the end-to-end tests run against. Credentials are
 * generated from `config.credentials`.
 */
export interface SandboxAccountSpec {
  /** Account id in the sandbox config (also names its `SANDBOX_<ID>_<FIELD>` variables). */
  readonly id: string;
  readonly timezone: string;
  /** The account's config `options`. */
  readonly options: Readonly<Record<string, unknown>>;
  /**
   * What identifies the account in requests when it is not a credential (the SendGrid `user`
   * option, the v3 `on-behalf-of` subuser); default: the value of the first credential.
   */
  readonly key?: string;
}

export interface ProviderModule<Req = unknown> {
  readonly id: ProviderId;
  readonly config: ProviderConfigSpec;
  readonly capabilities: ProviderCapabilities;
  readonly sandboxAccount: SandboxAccountSpec;
  /** Windows covering `range` exactly once, each within the provider's limits. Pure. */
  planWindows(range: InstantRange, ctx: ExtractContext): ExtractWindow[];
  /** Halves of a window that was too large or timed out, or null when it cannot be split. */
  splitWindow(window: ExtractWindow, ctx: ExtractContext): [ExtractWindow, ExtractWindow] | null;
  /** A fresh paginator for one window. */
  paginator(window: ExtractWindow, ctx: ExtractContext): Paginator<Req>;
  /** The HTTP request for one page of one window. */
  request(window: ExtractWindow, page: Req, ctx: ExtractContext): RequestSpec;
  /**
   * Bytes in, rows out; no I/O. Throws ProviderError (retriable / fatal / skippable) for errors
   * the provider reports inside a 200 answer, and for bodies it cannot parse.
   */
  parse(response: HttpResponse, window: ExtractWindow, ctx: ExtractContext): ParsedPage;
  /**
   * For a JSON answer whose array at this path holds exactly the parsed rows' records, in order
   * (rows[i].record is its i-th element): staging then has DuckDB read `raw` from the answer's
   * text instead of re-serialising the records (extractors/core/staging.ts). Absent otherwise.
   */
  readonly recordsPath?: readonly string[];
  createClient(account: AccountConfig, http: HttpEngine): ProviderClient;
  /** Starts this provider's simulator (tests, benchmarks, sandbox). */
  startSimulator(options: ProviderSimulatorOptions): Promise<RunningSimulator>;
}

/** The provider-independent face of a running simulator (the kit's handle minus its typed accounts). */
export type RunningSimulator = Pick<
  Simulator,
  'name' | 'url' | 'port' | 'journal' | 'setFaults' | 'setRateLimit' | 'dump' | 'close' | 'now'
>;

export interface ProviderSimulatorOptions {
  port?: number;
  host?: string;
  now?: SimulatorOptions['now'];
  accounts: SimulatorOptions['accounts'];
}
