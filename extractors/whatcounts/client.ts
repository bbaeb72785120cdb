/**
 * WhatCounts writes (replay) and exact address checks (verify) for ONE account.
 *
 * - add: global opt-out, `c=unsub&list_id=0&optout=1&data=email^a@x^b@y` (seed: "set the list_id
 *   to '0' and the optout flag to '1' (true) to generate a Global Opt Out"), up to
 *   WRITE_BATCH_SIZE addresses per request. `optout=1` is always sent: a plain unsub creates no
 *   opt-out record and would be invisible to the listings (provider notes §0, §3).
 * - remove: refused. WhatCounts has no delete for opt-out records; its only undo subscribes the
 *   person (§5). No code path here builds a `c=sub` request.
 * - holds: the API has no single-address lookup, so it reads the scope's listing and compares
 *   normalised addresses for equality (never a prefix or substring match).
 *
 * Every request carries explicit addresses: there is no way to express "all", an empty `data`
 * or a date window through this client.
 */

import type { AccountConfig } from '../core/config.js';
import { normaliseEmail } from '../core/email.js';
import { ProviderError } from '../core/errors.js';
import type { HttpEngine } from '../core/http.js';
import type { ProviderClient, WriteOutcome } from '../core/provider.js';
import { parseLocalDateTime } from '../core/windows.js';
import {
  bodyText,
  capabilities,
  classifyAnswer,
  daysReaching,
  formRequest,
  type ListingRow,
  listingArgs,
  MAX_DAYS,
  PROVIDER,
  parseListing,
  parseScope,
  parseWriteResult,
  SEND_DELAY_SLACK_MS,
  type WriteResult,
  whatcountsOptions,
} from './extract.js';

/**
 * Addresses per `c=unsub` request. No limit is documented (§7; the newer doc page calls the
 * command "Individual or Small Batch" [D:5]); 500 rows keep a POST well under common request
 * size limits and make a failed batch cheap to verify by one re-read, while a replay of 100 000
 * addresses still takes only 200 calls (§7 [A]: "batch ≤ 500 contacts and ≤ 100 KB").
 */
export const WRITE_BATCH_SIZE = capabilities.writeBatchSize;

/** Cap on the form-encoded `data` value per request (§7 [A]: ≤ 100 KB); long addresses split earlier. */
export const WRITE_BATCH_MAX_BYTES = 100_000;

/**
 * How long a listing read is reused. `add`'s "already held?" check reuses it across calls (merged
 * with the rows this client has since seen applied), so a replay of many 500-address batches
 * does not re-read the whole listing per batch. `holds` (verify) reuses only a read made AFTER
 * the client's last write, so verification is always a real re-read of the provider.
 */
export const SNAPSHOT_TTL_MS = 60_000;

/** `remove()` on WhatCounts: refused, never sent (capabilities.deleteCaveat). */
export class WhatCountsDeleteRefusedError extends ProviderError {
  constructor(accountId: string, count: number) {
    super(
      `whatcounts account ${accountId}: refusing to delete ${count} opt-out(s). ${capabilities.deleteCaveat}`,
      { provider: PROVIDER, accountId, providerCode: 'DELETE_UNSUPPORTED', family: 'fatal' },
    );
  }
}

export interface WhatCountsClientOptions {
  /** Clock for the listing window. Default Date.now. */
  now?: () => number;
  /**
   * Customer Key realms only: the key of an address (seed "Customer Key Example": the command
   * fails without it). Consulted first; then the `customer_key` column of the configured lists'
   * opt-out listings (§4). An address with no known key is not sent and comes back 'failed':
   * `ProviderClient.add` carries addresses only, and guessing a key could touch another contact.
   */
  customerKeyOf?: (email: string) => string | undefined;
  /** Default SNAPSHOT_TTL_MS. */
  snapshotTtlMs?: number;
}

interface Snapshot {
  readonly at: number;
  /** normalised address → customer key as listed ('' when the realm has none). */
  readonly held: Map<string, string>;
  readonly days: number;
  /** This client wrote since the read: fine for add's pre-check, not for verification. */
  dirty: boolean;
}

/** pre-check: any read within the TTL; verify: one made after the last write; fresh: read now. */
type SnapshotUse = 'pre-check' | 'verify' | 'fresh';

/** Characters `data` cannot carry: `,` splits fields, `^` rows, line breaks rows (§3: no escaping). */
const UNSENDABLE = /[,^\r\n]/;

export class WhatCountsClient implements ProviderClient {
  private readonly options: ReturnType<typeof whatcountsOptions>;
  private readonly now: () => number;
  private readonly ttl: number;
  private readonly snapshots = new Map<string, Snapshot>();

  constructor(
    private readonly account: AccountConfig,
    private readonly http: HttpEngine,
    private readonly clientOptions: WhatCountsClientOptions = {},
  ) {
    this.options = whatcountsOptions(account);
    this.now = clientOptions.now ?? Date.now;
    this.ttl = clientOptions.snapshotTtlMs ?? SNAPSHOT_TTL_MS;
  }

  /**
   * Global opt-out for each address. One outcome per input, in input order:
   * - `already`: the address (normalised) is in the global listing before the write — not sent;
   * - `applied`: the answer counted every row of its batch as unsubscribed, or a re-read after a
   *   partial answer shows it held (the answer has counts only, never which rows failed — seed);
   * - `failed`: not sendable (empty, or `,` `^` line breaks, which `data` cannot escape), no
   *   customer key in a Customer Key realm, a skippable FAILURE answer, or not held after a
   *   partial answer.
   * Addresses equal after normalisation are sent once and share the outcome.
   * @throws ProviderError fatal for bad credentials (names the account); HttpRequestError when a
   *   batch still fails after retries (the write's effect is then unknown: re-read to find out).
   */
  async add(emails: readonly string[]): Promise<WriteOutcome[]> {
    const decided = new Map<string, Omit<WriteOutcome, 'email'>>(); // by normalised address
    const toSend: { norm: string; email: string; key?: string }[] = [];
    const unsendable = new Map<string, string>(); // exact input → reason
    const seen = new Set<string>();
    const pending = emails.filter((e) => {
      if (e.trim() === '') unsendable.set(e, 'empty address: nothing to send');
      else if (UNSENDABLE.test(e))
        unsendable.set(
          e,
          'address contains "," "^" or a line break, which WhatCounts data rows cannot carry',
        );
      return !unsendable.has(e);
    });

    if (pending.length > 0) {
      const before = await this.snapshot('global', 'pre-check');
      for (const email of pending) {
        const norm = normaliseEmail(email);
        if (seen.has(norm)) continue;
        seen.add(norm);
        if (before.held.has(norm)) {
          decided.set(norm, {
            outcome: 'already',
            providerMessage: `already in the global opt-out listing (show_optglobal days=${before.days})`,
          });
          continue;
        }
        if (this.options.customerKey) {
          const key = this.clientOptions.customerKeyOf?.(email) ?? (await this.listedKey(norm));
          if (!key) {
            decided.set(norm, {
              outcome: 'failed',
              providerMessage:
                'Customer Key realm: no customer_key known for this address, so it was not sent (the command fails without one)',
            });
            continue;
          }
          toSend.push({ norm, email, key });
        } else {
          toSend.push({ norm, email });
        }
      }
    }

    const verify: { norm: string; line: string }[] = [];
    for (const batch of this.batches(toSend)) {
      const result = await this.sendBatch(batch);
      if (typeof result === 'string') {
        for (const r of batch) decided.set(r.norm, { outcome: 'failed', providerMessage: result });
        continue;
      }
      if (result === null) {
        for (const r of batch) verify.push({ norm: r.norm, line: 'unrecognised answer' });
        continue;
      }
      const all = batch.length;
      if (result.processed === all && result.unsubscribed === all && result.failed === 0) {
        const global = this.snapshots.get('global');
        for (const r of batch) {
          decided.set(r.norm, { outcome: 'applied', providerMessage: result.line });
          global?.held.set(r.norm, r.key ?? '');
        }
      } else if (result.unsubscribed === 0) {
        for (const r of batch) decided.set(r.norm, { outcome: 'failed', providerMessage: result.line });
      } else {
        for (const r of batch) verify.push({ norm: r.norm, line: result.line });
      }
    }

    if (verify.length > 0) {
      // Partial answers name no rows (seed "Results"): one fresh read attributes them all.
      const after = await this.snapshot('global', 'fresh');
      for (const v of verify) {
        const held = after.held.has(v.norm);
        decided.set(v.norm, {
          outcome: held ? 'applied' : 'failed',
          providerMessage: `${v.line}; ${held ? 'held' : 'NOT held'} in show_optglobal days=${after.days} afterwards`,
        });
      }
    }

    return emails.map((email) => {
      const reason = unsendable.get(email);
      if (reason !== undefined) return { email, outcome: 'failed', providerMessage: reason };
      const d = decided.get(normaliseEmail(email));
      // Unreachable: every sendable address got an outcome above.
      return d ? { email, ...d } : { email, outcome: 'failed', providerMessage: 'no outcome' };
    });
  }

  /**
   * Always throws WhatCountsDeleteRefusedError without sending anything: WhatCounts cannot undo an
   * opt-out without subscribing the person (capabilities.deleteCaveat, §5).
   */
  async remove(emails: readonly string[]): Promise<WriteOutcome[]> {
    throw new WhatCountsDeleteRefusedError(this.account.id, emails.length);
  }

  /**
   * Whether the scope's listing (`global` default, or `list:<id>`) holds the address, compared
   * after normalisation (trim, NFC, lower case) for equality. The listing covers the last `days`
   * reaching back to the account's `since` (an opt-out older than that reads as false).
   * Cost: one full listing read per scope (the whole history since `since`: WhatCounts has no
   * single-address lookup), reused for SNAPSHOT_TTL_MS unless this client wrote since.
   * A global opt-out does not appear in a list's listing (§4), so `list:<id>` answers for the list
   * record only.
   * @throws RangeError for a scope that is not `global` / `list:<id>`; ProviderError as parseListing.
   */
  async holds(email: string, scope = 'global'): Promise<boolean | null> {
    parseScope(scope);
    const snap = await this.snapshot(scope, 'verify');
    return snap.held.has(normaliseEmail(email));
  }

  /** Reads (or reuses) the listing of one scope as a set of normalised addresses. */
  private async snapshot(scope: string, use: SnapshotUse): Promise<Snapshot> {
    const now = this.now();
    const cached = this.snapshots.get(scope);
    const fresh = cached !== undefined && now - cached.at < this.ttl;
    if (fresh && (use === 'pre-check' || (use === 'verify' && !cached.dirty))) return cached;
    const since = parseLocalDateTime(this.account.since, this.account.timezone);
    const days = Math.min(MAX_DAYS, daysReaching(since - SEND_DELAY_SLACK_MS, now, this.account.timezone));
    let rows: ListingRow[] = [];
    await this.http.request(
      formRequest(this.account, listingArgs(scope, days), { idempotent: true }),
      (res) => {
        rows = parseListing(bodyText(res), this.account.id);
      },
    );
    const held = new Map<string, string>();
    for (const row of rows) {
      const keyColumn = Object.keys(row.record).find((k) => k.trim().toLowerCase() === 'customer_key');
      held.set(normaliseEmail(row.email), keyColumn ? (row.record[keyColumn] ?? '') : '');
    }
    const snap: Snapshot = { at: now, held, days, dirty: false };
    this.snapshots.set(scope, snap);
    return snap;
  }

  /** Customer key of an address from the configured lists' listings (Customer Key realms, §4). */
  private async listedKey(norm: string): Promise<string | undefined> {
    for (const listId of this.options.lists) {
      const key = (await this.snapshot(`list:${listId}`, 'pre-check')).held.get(norm);
      if (key) return key;
    }
    return undefined;
  }

  /** Splits rows into batches of at most WRITE_BATCH_SIZE rows and WRITE_BATCH_MAX_BYTES of `data`. */
  private *batches<T extends { email: string; key?: string }>(rows: readonly T[]): Generator<T[]> {
    let batch: T[] = [];
    let bytes = 0;
    for (const row of rows) {
      const size = encodeURIComponent(this.dataRow(row)).length + 3; // + encoded '^'
      if (batch.length > 0 && (batch.length >= WRITE_BATCH_SIZE || bytes + size > WRITE_BATCH_MAX_BYTES)) {
        yield batch;
        batch = [];
        bytes = 0;
      }
      batch.push(row);
      bytes += size;
    }
    if (batch.length > 0) yield batch;
  }

  /** One contact row; Customer Key realms put the key first, as the seed's example does. */
  private dataRow(row: { email: string; key?: string }): string {
    return this.options.customerKey ? `${row.key ?? ''},${row.email}` : row.email;
  }

  /**
   * Sends one batch. Returns the parsed result, null for an answer without the counter sentence,
   * or a string (the reason) for a skippable FAILURE. Rethrows fatal errors and exhausted retries.
   */
  private async sendBatch(
    batch: readonly { email: string; key?: string }[],
  ): Promise<WriteResult | string | null> {
    if (batch.length === 0) throw new RangeError('empty batch'); // never send a data payload without a contact
    const header = this.options.customerKey ? 'customer_key,email' : 'email';
    const data = [header, ...batch.map((r) => this.dataRow(r))].join('^');
    // Adding an opt-out twice leaves one opt-out: safe to resend, so the engine may retry it.
    const spec = formRequest(
      this.account,
      { c: 'unsub', list_id: '0', optout: '1', data },
      { idempotent: true },
    );
    for (const snap of this.snapshots.values()) snap.dirty = true; // the realm changes, whatever the answer
    try {
      const res = await this.http.request(spec, (r) => classifyAnswer(bodyText(r), this.account.id));
      return parseWriteResult(bodyText(res));
    } catch (error) {
      if (error instanceof ProviderError && error.details.family === 'skippable') return error.message;
      throw error;
    }
  }
}

/** The ProviderModule factory: one client per account, never shared. */
export function createClient(account: AccountConfig, http: HttpEngine): ProviderClient {
  return new WhatCountsClient(account, http);
}
