/**
 * Ground truth for a scenario, computed by a deliberately simple path — plain loops, Maps and
 * the JS reference rules of ../email.ts — and never by the SQL transforms it is used to check.
 *
 * What each provider can tell us limits what the truth can claim:
 *  - SendGrid legacy and SendCloud give local wall-clock seconds: the truth is the instant the
 *    wall-clock string denotes in the account's zone (an ambiguous time in the hour clocks go
 *    back resolves to the later, standard-time instant, as DuckDB's ICU and Luxon both do);
 *  - BlueHornet gives a local date: the truth is local midnight of that date;
 *  - WhatCounts gives no time at all: the truth is null (the pipeline records observation time);
 *  - SendGrid v3 gives Unix seconds: the truth is that instant, whatever the account's zone.
 */
import { DateTime } from 'luxon';
import { PROVIDERS } from '../../registry.js';
import { normaliseEmail, type RejectReason, rejectReason } from '../email.js';
import type { TimePrecision } from '../provider.js';
import type { ProviderId } from '../types.js';
import { entriesOf, type Scenario, type ScenarioAccount, type ScenarioGroup } from './generate.js';

export type { TimePrecision };

/**
 * What each provider's listing reports about the unsubscribe time, whether its API can undo an
 * opt-out, and whether its times are instants (`timeFormat` 'iso8601': no zone applies) — the
 * provider modules' own declarations (`capabilities`), taken as given: the truth checks the
 * transforms, not the declarations.
 */
const capabilitiesOf = (provider: ProviderId) => PROVIDERS[provider].capabilities;

export interface ExpectedSuppression {
  accountId: string;
  emailNorm: string;
  scope: string;
  /** ISO 8601 UTC, or null where the provider gives no time. */
  unsubscribedAt: string | null;
  active: boolean;
}

export type DiscrepancyKind = 'missing' | 'extra';

export interface ExpectedDiscrepancy {
  groupId: string;
  emailNorm: string;
  presentIn: string[];
  missingFrom: string[];
  firstUnsubscribedAt: string | null;
  kind: DiscrepancyKind;
}

export interface ExpectedPatchRow {
  groupId: string;
  target: string;
  op: 'add' | 'delete' | 'manual';
  email: string;
}

export interface ExpectedReject {
  accountId: string;
  rawValue: string;
  reason: RejectReason;
}

export interface GroundTruth {
  suppressions: ExpectedSuppression[];
  discrepancies: ExpectedDiscrepancy[];
  /** Patch rows under the default policy (tracked deletes only: none before any replay). */
  patches: ExpectedPatchRow[];
  /** Extra rows `plan --delete-foreign` adds: deletes, or "manual" where the target cannot delete. */
  foreignDeletes: ExpectedPatchRow[];
  rejects: ExpectedReject[];
}

export function groundTruth(scenario: Scenario): GroundTruth {
  const suppressions: ExpectedSuppression[] = [];
  const rejects: ExpectedReject[] = [];
  for (const account of scenario.accounts) {
    const { held, invalid } = accountState(account, scenario.now);
    suppressions.push(...held.values());
    for (const [rawValue, reason] of invalid) rejects.push({ accountId: account.id, rawValue, reason });
  }
  const discrepancies: ExpectedDiscrepancy[] = [];
  const patches: ExpectedPatchRow[] = [];
  const foreignDeletes: ExpectedPatchRow[] = [];
  for (const group of scenario.groups) {
    const rows = diffGroup(group, suppressions);
    discrepancies.push(...rows);
    for (const row of rows) {
      if (row.kind === 'missing') {
        for (const target of row.missingFrom) {
          patches.push({ groupId: group.id, target, op: 'add', email: row.emailNorm });
        }
      } else {
        for (const target of row.presentIn.filter((a) => a !== group.source)) {
          const provider = scenario.accounts.find((a) => a.id === target)!.provider;
          foreignDeletes.push({
            groupId: group.id,
            target,
            op: capabilitiesOf(provider).canDelete ? 'delete' : 'manual',
            email: row.emailNorm,
          });
        }
      }
    }
  }
  return { suppressions, discrepancies, patches, foreignDeletes, rejects };
}

function accountState(account: ScenarioAccount, now: number) {
  const held = new Map<string, ExpectedSuppression>();
  const invalid = new Map<string, RejectReason>();
  const { timePrecision: precision, timeFormat } = capabilitiesOf(account.provider);
  const zone = timeFormat === 'iso8601' ? 'UTC' : account.timezone;
  for (const row of entriesOf(account)) {
    const emailNorm = normaliseEmail(row.email);
    const reason = rejectReason(emailNorm);
    if (reason) {
      invalid.set(row.email, reason);
      continue;
    }
    const scope = row.listId === undefined ? 'global' : `list:${row.listId}`;
    const key = `${scope}\u0000${emailNorm}`;
    const unsubscribedAt = reportedTime(row.at, zone, precision);
    const active = row.expiresAt === undefined || row.expiresAt > now;
    const existing = held.get(key);
    if (!existing) {
      held.set(key, { accountId: account.id, emailNorm, scope, unsubscribedAt, active });
    } else {
      existing.active ||= active;
      if (
        unsubscribedAt !== null &&
        (existing.unsubscribedAt === null || unsubscribedAt < existing.unsubscribedAt)
      ) {
        existing.unsubscribedAt = unsubscribedAt;
      }
    }
  }
  return { held, invalid };
}

/** The instant the provider's own representation of `at` denotes, as ISO 8601 UTC. */
export function reportedTime(at: number, zone: string, precision: TimePrecision): string | null {
  if (precision === 'none') return null;
  const local = DateTime.fromMillis(at, { zone });
  const wall = precision === 'date' ? local.startOf('day') : local.startOf('second');
  const reparsed = DateTime.fromObject(
    {
      year: wall.year,
      month: wall.month,
      day: wall.day,
      hour: wall.hour,
      minute: wall.minute,
      second: wall.second,
    },
    { zone },
  );
  return reparsed.toUTC().toISO({ suppressMilliseconds: true });
}

function diffGroup(group: ScenarioGroup, suppressions: ExpectedSuppression[]): ExpectedDiscrepancy[] {
  const members = new Set(group.accounts);
  const holders = new Map<string, Map<string, string | null>>();
  for (const s of suppressions) {
    if (!members.has(s.accountId) || s.scope !== 'global' || !s.active) continue;
    let byAccount = holders.get(s.emailNorm);
    if (!byAccount) {
      byAccount = new Map();
      holders.set(s.emailNorm, byAccount);
    }
    byAccount.set(s.accountId, s.unsubscribedAt);
  }
  const out: ExpectedDiscrepancy[] = [];
  for (const [emailNorm, byAccount] of holders) {
    const presentIn = group.accounts.filter((a) => byAccount.has(a));
    const missingFrom = group.accounts.filter((a) => !byAccount.has(a));
    if (missingFrom.length === 0) continue;
    // mirror: an address the source lacks is "extra" wherever a target holds it (a delete
    // candidate); union, or a source that has it: "missing" where it is absent (an add).
    const kind: DiscrepancyKind =
      group.policy === 'mirror' && !byAccount.has(group.source!) ? 'extra' : 'missing';
    const times = [...byAccount.values()].filter((t): t is string => t !== null).sort();
    out.push({
      groupId: group.id,
      emailNorm,
      presentIn,
      missingFrom,
      firstUnsubscribedAt: times[0] ?? null,
      kind,
    });
  }
  return out.sort((a, b) => (a.emailNorm < b.emailNorm ? -1 : a.emailNorm > b.emailNorm ? 1 : 0));
}
