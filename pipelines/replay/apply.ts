/**
 * The replay engine: one code path for dry runs and `--apply`, up to the network call.
 *
 * For each target (concurrently; each account within its own rate limit and concurrency, through
 * the shared HttpEngine and its RateLimiter), its add file then its delete file:
 *  1. classify every row: done in an earlier run (journal says applied / already / confirmed) →
 *     skipped; a delete without --allow-deletes → skipped; past --max-ops → skipped; in doubt
 *     (the last run died with it in flight, or its request failed for good) → re-read first;
 *     otherwise → send;
 *  2. re-read the in-doubt rows with the client's exact `holds` check: already in the desired
 *     state → journaled 'confirmed' and never resent (so a write is never repeated after a
 *     crash); otherwise sent like the rest;
 *  3. send in batches of the provider's `writeBatchSize` (WhatCounts: 500 addresses per call;
 *     the others one), `concurrency` batches in flight: journal 'sending' → the client's add /
 *     remove (dry run: nothing) → journal each answer.
 * A batch that fails for good (transport, retries exhausted, bad credentials) is journaled
 * 'error' and stops its target: the rest is skipped, and the next replay re-reads before resending.
 */
import type { Dispatcher } from 'undici';
import type { AccountConfig, Config } from '../../extractors/core/config.js';
import { HttpEngine } from '../../extractors/core/http.js';
import type { ProviderClient, WriteOutcome } from '../../extractors/core/provider.js';
import type { Redactor } from '../../extractors/core/redact.js';
import { PROVIDERS } from '../../extractors/registry.js';
import type { LoadedPatch, LoadedPatchFile, WriteOp } from '../patch/format.js';
import { crashPoint } from './crash.js';
import {
  DONE_OUTCOMES,
  IN_DOUBT_OUTCOMES,
  itemKey,
  itemsOf,
  type JournalEntry,
  type PriorState,
  type ReplayItem,
  type ReplayJournal,
} from './journal.js';

/** Why a row was not sent in this run. */
export type SkipReason = 'done-earlier' | 'deletes-not-allowed' | 'over-max-ops' | 'target-stopped';

/** Rows skipped by choice (`--allow-deletes` missing, `--max-ops`): not expected in state afterwards. */
export const CHOSEN_SKIPS: ReadonlySet<SkipReason> = new Set(['deletes-not-allowed', 'over-max-ops']);

export interface ItemResult {
  item: ReplayItem;
  /** 'would-send' only in a dry run. */
  outcome: 'applied' | 'already' | 'confirmed' | 'failed' | 'error' | 'skipped' | 'would-send';
  skip?: SkipReason;
  /** Re-read before sending because an earlier run left it in doubt. */
  rechecked: boolean;
  message: string;
}

export interface TargetResult {
  target: string;
  provider: string;
  /** Rows of the target's add and delete files. */
  rows: number;
  /** Rows sent to the provider (dry run: that would be sent). */
  sent: number;
  /** Applied, or confirmed in state by a re-read. */
  succeeded: number;
  /** The provider said it was already so. */
  already: number;
  failed: number;
  skipped: number;
  skipped_by_reason: Partial<Record<SkipReason, number>>;
  /** In-doubt rows re-read before sending. */
  rechecked: number;
  /** Write calls made (a call carries up to writeBatchSize rows). */
  write_calls: number;
  /** HTTP requests made, reads included. */
  requests: number;
  /** Why the target stopped early, if it did (redacted). */
  stopped: string | null;
  items: ItemResult[];
}

export interface ApplyOptions {
  patch: LoadedPatch;
  config: Config;
  journal: ReplayJournal;
  prior: ReadonlyMap<string, PriorState>;
  apply: boolean;
  allowDeletes: boolean;
  /** Batches in flight per target; capped by the account's rateLimit.concurrency (the default). */
  concurrency?: number;
  /** At most this many rows are sent (and re-read) in this run, in manifest order; default all. */
  maxOps?: number;
  redact: Redactor;
  /** Tests and benchmarks inject a dispatcher; by default each account's engine has its own Agent. */
  dispatcher?: Dispatcher;
}

interface Planned {
  file: LoadedPatchFile;
  results: ItemResult[];
  toSend: ReplayItem[];
  toRecheck: ReplayItem[];
}

/** Runs (or, without `apply`, rehearses) every add/delete file of the patch. */
export async function applyPatch(options: ApplyOptions): Promise<TargetResult[]> {
  const planned = classify(options);
  const targets = [...new Set(planned.map((p) => p.file.entry.target))];
  return Promise.all(
    targets.map((target) =>
      runTarget(
        options,
        options.config.accounts.find((a) => a.id === target)!,
        planned.filter((p) => p.file.entry.target === target),
      ),
    ),
  );
}

/** Decides for every row, in manifest order (so --max-ops is deterministic), what this run does. */
function classify(options: ApplyOptions): Planned[] {
  let budget = options.maxOps ?? Number.POSITIVE_INFINITY;
  // Adds before deletes: adding a suppression is the safe direction.
  const files = [...options.patch.files].sort((a, b) => opRank(a.entry.op) - opRank(b.entry.op));
  return files.map((file) => {
    const planned: Planned = { file, results: [], toSend: [], toRecheck: [] };
    for (const item of itemsOf(file)) {
      const prior = options.prior.get(itemKey(file.patchId, item.rowNo));
      const skip = (reason: SkipReason, message: string) =>
        planned.results.push({ item, outcome: 'skipped', skip: reason, rechecked: false, message });
      if (prior && DONE_OUTCOMES.has(prior.outcome)) {
        skip('done-earlier', `${prior.outcome} in run ${prior.runId}`);
      } else if (file.entry.op === 'delete' && !options.allowDeletes) {
        skip('deletes-not-allowed', 'deletes are sent only with --allow-deletes');
      } else if (budget <= 0) {
        skip('over-max-ops', `over --max-ops ${options.maxOps}`);
      } else {
        budget -= 1;
        if (prior && IN_DOUBT_OUTCOMES.has(prior.outcome)) planned.toRecheck.push(item);
        else planned.toSend.push(item);
      }
    }
    return planned;
  });
}

const opRank = (op: WriteOp): number => (op === 'add' ? 0 : 1);

async function runTarget(
  options: ApplyOptions,
  account: AccountConfig,
  files: Planned[],
): Promise<TargetResult> {
  const provider = PROVIDERS[account.provider];
  let requests = 0;
  // No engine, no client in a dry run: nothing below this line can reach the network.
  const http = options.apply
    ? new HttpEngine({
        ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
        timeouts: { headersMs: account.timeoutMs, bodyMs: account.timeoutMs },
        rateLimit: account.rateLimit,
        redact: options.redact,
        onRecord: () => {
          requests += 1;
        },
      })
    : null;
  const client = http ? provider.createClient(account, http) : null;
  const concurrency = Math.max(
    1,
    Math.min(options.concurrency ?? account.rateLimit.concurrency, account.rateLimit.concurrency),
  );
  const result: TargetResult = {
    target: account.id,
    provider: account.provider,
    rows: files.reduce((n, f) => n + f.file.rows.length, 0),
    sent: 0,
    succeeded: 0,
    already: 0,
    failed: 0,
    skipped: 0,
    skipped_by_reason: {},
    rechecked: 0,
    write_calls: 0,
    requests: 0,
    stopped: null,
    items: [],
  };
  const stop = (error: unknown) => {
    result.stopped ??= options.redact(error instanceof Error ? error.message : String(error));
  };
  try {
    for (const planned of files) {
      const run = new FileRun(options, planned, client, concurrency, stop, () => result.stopped !== null);
      await run.execute(provider.capabilities.writeBatchSize);
      result.items.push(...planned.results.sort((a, b) => a.item.rowNo - b.item.rowNo));
      result.write_calls += run.writeCalls;
    }
  } finally {
    await http?.close();
  }
  result.requests = requests;
  tally(result);
  return result;
}

function tally(result: TargetResult): void {
  for (const r of result.items) {
    if (r.rechecked) result.rechecked += 1;
    switch (r.outcome) {
      case 'applied':
      case 'confirmed':
        result.succeeded += 1;
        break;
      case 'already':
        result.already += 1;
        break;
      case 'failed':
      case 'error':
        result.failed += 1;
        break;
      case 'skipped':
        result.skipped += 1;
        result.skipped_by_reason[r.skip!] = (result.skipped_by_reason[r.skip!] ?? 0) + 1;
        break;
      case 'would-send':
        break;
    }
    if (r.outcome !== 'skipped' && r.outcome !== 'confirmed') result.sent += 1;
  }
}

/** One patch file of one target. */
class FileRun {
  writeCalls = 0;
  private batchNo = 0;
  private readonly op: WriteOp;

  constructor(
    private readonly options: ApplyOptions,
    private readonly planned: Planned,
    private readonly client: ProviderClient | null,
    private readonly concurrency: number,
    private readonly stop: (error: unknown) => void,
    private readonly stopped: () => boolean,
  ) {
    this.op = planned.file.entry.op;
  }

  async execute(batchSize: number): Promise<void> {
    const toSend = [...this.planned.toSend];
    if (this.client === null) {
      // Dry run: in-doubt rows would be re-read, then sent if still needed.
      toSend.push(...this.planned.toRecheck);
    } else if (!this.stopped()) {
      toSend.push(...(await this.recheck(this.client)));
    } else {
      this.skipAll(this.planned.toRecheck);
    }
    toSend.sort((a, b) => a.rowNo - b.rowNo);
    const batches: ReplayItem[][] = [];
    for (let i = 0; i < toSend.length; i += Math.max(1, batchSize)) {
      batches.push(toSend.slice(i, i + Math.max(1, batchSize)));
    }
    const workers = Array.from({ length: Math.min(this.concurrency, batches.length) }, async () => {
      for (let batch = batches.shift(); batch !== undefined; batch = batches.shift()) {
        if (this.stopped()) this.skipAll(batch);
        else await this.send(batch);
      }
    });
    await Promise.all(workers);
  }

  /** Re-reads in-doubt rows; returns those still to send. Journals 'confirmed' for the others. */
  private async recheck(client: ProviderClient): Promise<ReplayItem[]> {
    const still: ReplayItem[] = [];
    for (const item of this.planned.toRecheck) {
      if (this.stopped()) {
        this.skipAll([item]);
        continue;
      }
      let held: boolean | null;
      try {
        held = await client.holds(item.row.email);
      } catch (error) {
        this.stop(error);
        this.skipAll([item]);
        continue;
      }
      const inState = held !== null && held === (this.op === 'add');
      if (!inState) {
        still.push(item);
        continue;
      }
      const message = `left in doubt by an earlier run; a re-read shows it ${this.op === 'add' ? 'held' : 'absent'}, so it was not sent again`;
      await this.options.journal.record(++this.batchNo, [{ item, outcome: 'confirmed', message }]);
      this.planned.results.push({ item, outcome: 'confirmed', rechecked: true, message });
      crashPoint('rechecked');
    }
    return still;
  }

  private async send(batch: ReplayItem[]): Promise<void> {
    const batchNo = ++this.batchNo;
    const rechecked = new Set(this.planned.toRecheck);
    await this.options.journal.record(
      batchNo,
      batch.map((item) => ({ item, outcome: 'sending', message: '' })),
    );
    crashPoint('journaled');
    if (this.client === null) {
      for (const item of batch) {
        this.planned.results.push({
          item,
          outcome: 'would-send',
          rechecked: rechecked.has(item),
          message: '',
        });
      }
      return;
    }
    const emails = batch.map((item) => item.row.email);
    let outcomes: WriteOutcome[];
    this.writeCalls += 1;
    try {
      outcomes = this.op === 'add' ? await this.client.add(emails) : await this.client.remove(emails);
      if (outcomes.length !== batch.length) {
        throw new Error(`the client answered ${outcomes.length} outcomes for ${batch.length} addresses`);
      }
    } catch (error) {
      this.stop(error);
      const message = this.options.redact(error instanceof Error ? error.message : String(error));
      const entries: JournalEntry[] = batch.map((item) => ({ item, outcome: 'error', message }));
      await this.options.journal.record(batchNo, entries);
      for (const item of batch) {
        this.planned.results.push({ item, outcome: 'error', rechecked: rechecked.has(item), message });
      }
      return;
    }
    crashPoint('answered');
    const entries: JournalEntry[] = batch.map((item, i) => ({
      item,
      outcome: outcomes[i]!.outcome,
      message: this.options.redact(outcomes[i]!.providerMessage),
    }));
    await this.options.journal.record(batchNo, entries);
    crashPoint('recorded');
    for (const entry of entries) {
      this.planned.results.push({
        item: entry.item,
        outcome: entry.outcome as ItemResult['outcome'],
        rechecked: rechecked.has(entry.item),
        message: entry.message,
      });
    }
  }

  private skipAll(items: readonly ReplayItem[]): void {
    for (const item of items) {
      this.planned.results.push({
        item,
        outcome: 'skipped',
        skip: 'target-stopped',
        rechecked: false,
        message: 'not sent: the target stopped after an error',
      });
    }
  }
}
