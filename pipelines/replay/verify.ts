/**
 * Verify after `replay --apply`: re-read each target (a targeted extraction: full when deletes
 * were replayed, since only a full read can show a removal; incremental otherwise) as its own
 * committed `extract` run, rebuild the derived tables with a `transform` run (the re-diff), then
 * check every row that was meant to be applied — sent now or in an earlier run — against the
 * rebuilt `suppressions`. A target is converged when all of them are in their desired state.
 * Rows skipped by choice (no --allow-deletes, --max-ops) are not expected and are counted apart.
 */
import { listValue } from '@duckdb/node-api';
import type { Config, GroupConfig } from '../../extractors/core/config.js';
import { createRedactor } from '../../extractors/core/redact.js';
import type { Warehouse } from '../../extractors/core/warehouse.js';
import { extractInRun } from '../extract.js';
import type { Output } from '../output.js';
import type { LoadedPatch } from '../patch/format.js';
import { sqlFile } from '../sql/files.js';
import { transformInRun } from '../transform.js';
import { CHOSEN_SKIPS, type TargetResult } from './apply.js';
import { crashPoint } from './crash.js';

/** Addresses listed per unconverged target. */
const SHOWN_NOT_IN_STATE = 10;

export interface TargetVerification {
  target: string;
  converged: boolean;
  /** Rows meant to be in their desired state now. */
  expected: number;
  in_state: number;
  /** The first addresses that are not (at most 10). */
  not_in_state: string[];
  /** Rows skipped by choice, so not checked. */
  not_attempted: number;
  /** The group's `missing` discrepancies still naming the target after the re-diff. */
  missing_left: number | null;
  /** 'full' or 'incremental'; null when the target needed no re-read. */
  reread: 'full' | 'incremental' | null;
  /** Why the re-read or re-diff could not be trusted, if so (redacted). */
  problem: string | null;
}

export interface Verification {
  extract_run_id: string | null;
  transform_run_id: string | null;
  converged: boolean;
  targets: TargetVerification[];
}

export interface VerifyOptions {
  warehouse: Warehouse;
  config: Config;
  patch: LoadedPatch;
  results: readonly TargetResult[];
  out: Output;
  /** Why the re-extraction and re-diff run: stored in their runs' args. */
  via: string;
}

export async function verifyReplay(options: VerifyOptions): Promise<Verification> {
  const { warehouse, config, patch, results } = options;
  const redact = createRedactor(config.secrets);
  crashPoint('verify');
  const expected = results.map((r) => ({
    result: r,
    items: r.items.filter((i) => !(i.outcome === 'skipped' && CHOSEN_SKIPS.has(i.skip!))),
  }));
  const toRead = expected.filter((e) => e.items.length > 0);
  const verification: Verification = {
    extract_run_id: null,
    transform_run_id: null,
    converged: true,
    targets: [],
  };
  if (toRead.length === 0) {
    verification.targets = results.map((r) => blank(r, null));
    return verification;
  }

  const accounts = toRead.map((e) => config.accounts.find((a) => a.id === e.result.target)!);
  const full = toRead.some((e) => e.items.some((i) => i.item.file.entry.op === 'delete'));
  const extractRunId = await warehouse.beginRun({
    command: 'extract',
    args: { account: accounts.map((a) => a.id), full, via: options.via },
  });
  verification.extract_run_id = extractRunId;
  const reread = new Map<string, string | null>();
  try {
    const extractions = await extractInRun(
      warehouse,
      extractRunId,
      config,
      accounts,
      { mode: full ? 'full' : 'incremental' },
      options.out,
    );
    for (const e of extractions) {
      reread.set(e.accountId, e.status === 'complete' ? null : `re-read ${e.status}: ${e.error ?? ''}`);
    }
    const complete = extractions.filter((e) => e.status === 'complete').length;
    await warehouse.finishRun(
      extractRunId,
      complete === extractions.length ? 'succeeded' : complete === 0 ? 'failed' : 'partial',
    );
  } catch (error) {
    await warehouse.finishRun(extractRunId, 'failed', redact((error as Error).message));
    throw error;
  }

  const transformRunId = await warehouse.beginRun({ command: 'transform', args: { via: options.via } });
  verification.transform_run_id = transformRunId;
  const group = groupOf(config, patch);
  try {
    const outcome = await transformInRun(
      warehouse,
      transformRunId,
      config.groups.some((g) => g.id === group.id)
        ? config
        : { ...config, groups: [...config.groups, group] },
      { allowIncomplete: false },
    );
    const blocked = outcome.groups.filter((g) => !g.diffed);
    await warehouse.finishRun(transformRunId, blocked.length === 0 ? 'succeeded' : 'partial');
  } catch (error) {
    await warehouse.finishRun(transformRunId, 'failed', redact((error as Error).message));
    throw error;
  }

  const all = toRead.flatMap((e) => e.items);
  const states = await warehouse.all<{
    target_account: string;
    email_norm: string;
    op: string;
    in_state: boolean;
  }>(sqlFile('replay', 'verify'), {
    scope: patch.manifest.scope,
    targets: listValue(all.map((i) => i.item.file.entry.target)),
    norms: listValue(all.map((i) => i.item.emailNorm)),
    ops: listValue(all.map((i) => i.item.file.entry.op)),
  });
  const inState = new Set(
    states.filter((s) => s.in_state).map((s) => `${s.target_account}\u0000${s.op}\u0000${s.email_norm}`),
  );
  const left = new Map(
    (
      await warehouse.all<{ target_account: string; missing_left: bigint }>(
        sqlFile('replay', 'missing_left'),
        {
          group: group.id,
          targets: listValue(toRead.map((e) => e.result.target)),
        },
      )
    ).map((r) => [r.target_account, Number(r.missing_left)]),
  );

  for (const { result, items } of expected) {
    if (items.length === 0) {
      verification.targets.push(blank(result, null));
      continue;
    }
    const notInState = items.filter(
      (i) => !inState.has(`${result.target}\u0000${i.item.file.entry.op}\u0000${i.item.emailNorm}`),
    );
    const problem = reread.get(result.target) ?? null;
    const target: TargetVerification = {
      target: result.target,
      converged: notInState.length === 0 && problem === null,
      expected: items.length,
      in_state: items.length - notInState.length,
      not_in_state: notInState.slice(0, SHOWN_NOT_IN_STATE).map((i) => i.item.row.email),
      not_attempted: result.items.length - items.length,
      missing_left: left.get(result.target) ?? null,
      reread: full ? 'full' : 'incremental',
      problem: problem === null ? null : redact(problem),
    };
    verification.targets.push(target);
  }
  verification.converged = verification.targets.every((t) => t.converged);
  return verification;
}

function blank(result: TargetResult, problem: string | null): TargetVerification {
  return {
    target: result.target,
    converged: true,
    expected: 0,
    in_state: 0,
    not_in_state: [],
    not_attempted: result.items.length,
    missing_left: null,
    reread: null,
    problem,
  };
}

/** The patch's group as the config defines it, or as the manifest recorded it (`migrate`'s own group). */
export function groupOf(config: Config, patch: LoadedPatch): GroupConfig {
  const m = patch.manifest;
  return (
    config.groups.find((g) => g.id === m.group) ?? {
      id: m.group,
      accounts: m.members,
      policy: m.policy,
      ...(m.source !== null ? { source: m.source } : {}),
      scope: m.scope,
      maxDeleteFraction: 0,
    }
  );
}
