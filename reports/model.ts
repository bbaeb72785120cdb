/**
 * Pure functions from the warehouse rows (queries.ts) to the two JSON documents the HTML page
 * embeds: the page data, parsed at load, and the per-address evidence, parsed only when an
 * address is opened (built as JSON text in SQL: reports/evidence.sql). Rows are arrays rather
 * than objects and repeated ids (accounts, kinds, groups) are indexes into a table, so a
 * 100,000-row report stays small enough to load fast. The page holds at most that many rows of
 * each table (HTML_DISCREPANCY_LIMIT); its counts are the SQL totals of every row, so it can say
 * what it leaves to the CSVs. The array layouts are read by reports/assets/app.js; keep the two
 * in step.
 */
import type { Config } from '../extractors/core/config.js';
import { createRedactor } from '../extractors/core/redact.js';
import { isoUtc } from './csv.js';
import {
  type CompletenessRow,
  EVIDENCE_CHUNK,
  type EvidenceJson,
  KINDS,
  type ReportInputs,
} from './queries.js';

export interface ReportMeta {
  reportRunId: string;
  /** ISO 8601 UTC. */
  generatedAt: string;
  groupFilter: string | null;
  warehouse: string;
  transformRun: {
    runId: string;
    command: string;
    startedAt: string | null;
    finishedAt: string | null;
    status: string;
    allowIncomplete: boolean;
  };
}

export interface ConfigSummary {
  accounts: Array<{ id: string; provider: string; baseUrl: string; timezone: string; since: string }>;
  groups: Array<{ id: string; policy: string; source: string | null; scope: string; accounts: string[] }>;
}

/** `[kind, account, missingHere, heldHere]` — indexes into `kinds` and `accounts`. */
export type BarRow = [number, number, number, number];
/** `[kind, presentAccount, missingAccount, addresses, presentTotal, pctOfPresent]`. */
export type PairRow = [number, number, number, number, number, number];

export interface GroupView {
  id: string;
  policy: string;
  source: string | null;
  /** The scope the group compares (`global` or `list:<id>`). */
  scope: string;
  members: number[];
  diffed: boolean;
  allowedIncomplete: boolean;
  incomplete: number[];
  detail: string | null;
  /** Kinds this group's policy produces: union → missing; mirror → missing, extra. */
  kinds: string[];
  total: number;
  byKind: Record<string, number>;
  bars: BarRow[];
  pairs: PairRow[];
}

/** `[group, kind, email_norm, presentIn, missingFrom, firstUnsubscribedAt, evidence]`. */
export type DiscrepancyView = [number, number, string, number[], number[], string | null, number];
/** `[account, rawValue, reason, runId]`. */
export type RejectView = [number, string, string, string];

export interface CompletenessView {
  account: string;
  provider: string | null;
  /** `never` when the account has no extraction at all. */
  state: string;
  runId: string | null;
  mode: string | null;
  rangeFrom: string | null;
  rangeTo: string | null;
  windows: number;
  windowsComplete: number;
  windowsFailed: number;
  requests: number;
  retries: number;
  rows: number;
  providerTotal: number | null;
  coverageOk: boolean | null;
  error: string | null;
  failedWindows: string[];
  fullRunId: string | null;
  finishedAt: string | null;
}

export interface ReportPayload {
  meta: ReportMeta;
  /**
   * Rows the CSVs hold; `discrepancies` and `rejects` below are their first rows, fewer than
   * these when the page's limit cut them (the page then says so on every view).
   */
  totals: { discrepancies: number; rejects: number };
  /** Addresses per evidence block: address i is entry i mod this in block ⌊i / this⌋. */
  evidenceChunk: number;
  config: ConfigSummary;
  accounts: string[];
  kinds: string[];
  groups: GroupView[];
  discrepancies: DiscrepancyView[];
  rejects: RejectView[];
  completeness: CompletenessView[];
}

export interface ReportModel {
  payload: ReportPayload;
  /** The evidence blocks, JSON text as reports/evidence.sql builds them. */
  evidence: EvidenceJson;
}

/** Assigns small integers to strings in first-seen order. */
class Interner {
  readonly values: string[] = [];
  private readonly index = new Map<string, number>();
  constructor(initial: readonly string[] = []) {
    for (const value of initial) this.id(value);
  }
  id(value: string): number {
    let i = this.index.get(value);
    if (i === undefined) {
      i = this.values.length;
      this.values.push(value);
      this.index.set(value, i);
    }
    return i;
  }
}

/** What a report may say about the config: ids, providers, zones, groups — never credentials. */
export function summariseConfig(config: Pick<Config, 'accounts' | 'groups' | 'secrets'>): ConfigSummary {
  const redact = createRedactor(config.secrets);
  return {
    accounts: config.accounts.map((a) => ({
      id: a.id,
      provider: a.provider,
      baseUrl: redact(withoutUserInfo(a.baseUrl)),
      timezone: a.timezone,
      since: a.since,
    })),
    groups: config.groups.map((g) => ({
      id: g.id,
      policy: g.policy,
      source: g.source ?? null,
      scope: g.scope,
      accounts: [...g.accounts],
    })),
  };
}

function withoutUserInfo(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    return parsed.toString().replace(/\/$/, '');
  } catch {
    return url;
  }
}

export interface BuildModelOptions {
  reportRunId: string;
  generatedAt: Date;
  groupFilter: string | null;
  warehouse: string;
  config: ConfigSummary;
}

/** Builds both embedded documents from the report inputs. Pure. */
export function buildReportModel(inputs: ReportInputs, options: BuildModelOptions): ReportModel {
  const accounts = new Interner(inputs.accounts);
  const kinds = new Interner(KINDS);
  const groupIndex = new Map(inputs.groups.map((g, i) => [g.group_id, i]));
  const configGroups = new Map(options.config.groups.map((g) => [g.id, g]));

  const totals = inputs.groups.map(() => ({ total: 0, byKind: {} as Record<string, number> }));
  for (const count of inputs.totals.byGroupKind) {
    const t = totals[groupIndex.get(count.group_id) ?? -1];
    if (t === undefined) continue; // totals.sql counts only groups in group_status
    t.total += count.discrepancies;
    t.byKind[count.kind] = (t.byKind[count.kind] ?? 0) + count.discrepancies;
  }

  const discrepancies: DiscrepancyView[] = [];
  for (const d of inputs.discrepancies) {
    const g = groupIndex.get(d.group_id);
    if (g === undefined) continue; // every discrepancy's group is in group_status (same transform)
    discrepancies.push([
      g,
      kinds.id(d.kind),
      d.email_norm,
      d.present_in.map((a) => accounts.id(a)),
      d.missing_from.map((a) => accounts.id(a)),
      isoUtc(d.first_unsubscribed_at),
      d.evidence_idx,
    ]);
  }

  const groups: GroupView[] = inputs.groups.map((g, i) => {
    const summary = inputs.summary.filter((s) => s.group_id === g.group_id);
    const groupKinds = KINDS.filter((k) => summary.some((s) => s.kind === k));
    return {
      id: g.group_id,
      policy: g.policy,
      source: configGroups.get(g.group_id)?.source ?? null,
      scope: configGroups.get(g.group_id)?.scope ?? 'global',
      members: g.members.map((a) => accounts.id(a)),
      diffed: g.diffed,
      allowedIncomplete: g.allowed_incomplete,
      incomplete: g.incomplete_accounts.map((a) => accounts.id(a)),
      detail: g.detail,
      kinds: groupKinds,
      total: totals[i]!.total,
      byKind: Object.fromEntries(groupKinds.map((k) => [k, totals[i]!.byKind[k] ?? 0])),
      bars: inputs.accountCounts
        .filter((c) => c.group_id === g.group_id)
        .map((c) => [
          kinds.id(c.kind),
          accounts.id(c.account_id),
          Number(c.missing_here),
          Number(c.held_here),
        ]),
      pairs: summary.map((s) => [
        kinds.id(s.kind),
        accounts.id(s.present_account),
        accounts.id(s.missing_account),
        Number(s.addresses),
        Number(s.present_total),
        s.pct_of_present,
      ]),
    };
  });

  const rejects: RejectView[] = inputs.rejects.map((r) => [
    accounts.id(r.account_id),
    r.raw_value,
    r.reason,
    r.run_id,
  ]);

  const run = inputs.transformRun;
  const args = (run.args ?? {}) as { allowIncomplete?: unknown };
  const payload: ReportPayload = {
    evidenceChunk: EVIDENCE_CHUNK,
    totals: { discrepancies: inputs.totals.discrepancies, rejects: inputs.totals.rejects },
    meta: {
      reportRunId: options.reportRunId,
      generatedAt: options.generatedAt.toISOString(),
      groupFilter: options.groupFilter,
      warehouse: options.warehouse,
      transformRun: {
        runId: run.run_id,
        command: run.command,
        startedAt: isoUtc(run.started_at),
        finishedAt: isoUtc(run.finished_at),
        status: run.status,
        allowIncomplete: args.allowIncomplete === true,
      },
    },
    config: options.config,
    accounts: [],
    kinds: [],
    groups,
    discrepancies,
    rejects,
    completeness: completenessOf(
      inputs.completeness,
      options.config,
      options.groupFilter === null ? null : (inputs.groups[0]?.members ?? []),
    ),
  };
  // Filled last: every id above has been interned by now.
  payload.accounts = accounts.values;
  payload.kinds = kinds.values;
  return { payload, evidence: inputs.evidence };
}

/**
 * Every configured account (with a group filter: only the group's members) with its latest
 * extraction, in config order; accounts never extracted appear as `never`, and extracted
 * accounts no longer in the config come last.
 */
function completenessOf(
  rows: readonly CompletenessRow[],
  config: ConfigSummary,
  onlyAccounts: readonly string[] | null,
): CompletenessView[] {
  const byAccount = new Map(rows.map((r) => [r.account_id, r]));
  const wanted = (onlyAccounts ?? config.accounts.map((a) => a.id)).slice();
  for (const r of rows) if (!wanted.includes(r.account_id)) wanted.push(r.account_id);
  const provider = new Map(config.accounts.map((a) => [a.id, a.provider]));
  return wanted.map((id): CompletenessView => {
    const r = byAccount.get(id);
    if (r === undefined) {
      return {
        account: id,
        provider: provider.get(id) ?? null,
        state: 'never',
        runId: null,
        mode: null,
        rangeFrom: null,
        rangeTo: null,
        windows: 0,
        windowsComplete: 0,
        windowsFailed: 0,
        requests: 0,
        retries: 0,
        rows: 0,
        providerTotal: null,
        coverageOk: null,
        error: 'never extracted',
        failedWindows: [],
        fullRunId: null,
        finishedAt: null,
      };
    }
    return {
      account: id,
      provider: r.provider,
      state: r.status,
      runId: r.run_id,
      mode: r.mode,
      rangeFrom: isoUtc(r.range_from),
      rangeTo: isoUtc(r.range_to),
      windows: r.windows,
      windowsComplete: Number(r.windows_complete),
      windowsFailed: r.windows_failed,
      requests: r.requests,
      retries: r.retries,
      rows: Number(r.rows),
      providerTotal: r.provider_total === null ? null : Number(r.provider_total),
      coverageOk: r.coverage_ok,
      error: r.error,
      failedWindows: r.failed_windows,
      fullRunId: r.full_run_id,
      finishedAt: isoUtc(r.finished_at),
    };
  });
}
