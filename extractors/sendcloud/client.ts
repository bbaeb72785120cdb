/**
 * SendCloud writes and single-address checks for ONE account (shared/providers/sendcloud.md §3, §7).
 *
 * - add: `unsubscribe/add` with `email` only, one address per POST (no bulk add, §6). Success is
 *   `result:true` + **40401** (seed "Add"), not 200. 40402 "creation failed" is what SendCloud
 *   answers for an address already held (§7 [A]) but also for other refusals, so it is confirmed
 *   with a `list?email=` read: held → 'already', not held → 'failed'. `expireTime` is not sent:
 *   the seed's own request example omits it and absent means "never expires" (README "add");
 *   an account that really required it would answer an error code, reported as 'failed'.
 * - remove: `unsubscribe/delete` with `email` ONLY. The same endpoint deletes EVERY suppression
 *   in a `days` / `startDate`+`endDate` frame (seed "Delete", TIPS 1); `deleteRequest` takes an
 *   address and nothing else, so no code path can build that form. `info.count` 0 means the
 *   address was not on the list → 'already' (§7). By address SendCloud removes the address under
 *   every apiUser and label of the account (README "delete").
 * - holds: `unsubscribe/list` with `email` (the frame is then ignored, seed TIPS 3), filtered like
 *   the extraction (`apiUserList`/`labelIdList`), paged; held = a row whose address equals the
 *   given one after DESIGN.md normalisation and whose `expireTime` has not passed (an expired
 *   entry no longer blocks mail, §5).
 */
import type { AccountConfig } from '../core/config.js';
import { normaliseEmail } from '../core/email.js';
import { ProviderError } from '../core/errors.js';
import type { HttpEngine, HttpResponse, RequestSpec } from '../core/http.js';
import type { ProviderClient, WriteOutcome } from '../core/provider.js';
import { createRedactor, type Redactor } from '../core/redact.js';
import { parseLocalDateTime } from '../core/windows.js';
import {
  ADD_PATH,
  AUTH_FAILED,
  DELETE_PATH,
  DUPLICATE_REQUEST,
  describeEnvelope,
  type Envelope,
  envelopeError,
  formRequest,
  LIST_PATH,
  listFilters,
  listRows,
  PAGE_SIZE,
  PROVIDER,
  parseEnvelope,
  USER_UNKNOWN,
} from './extract.js';

/** add success (seed "Add": `statusCode: 40401`, 取消订阅记录创建成功). */
export const ADD_CREATED = 40401;
/** add refused (§4 "creation failed"); for an address already held per §7 [A]. */
export const ADD_FAILED = 40402;

/**
 * `list?email=` pages read before giving up. One row per apiUser × label (§6) makes more than a
 * page for one address implausible; the cap only stops a provider that ignores `start`.
 */
const MAX_HOLDS_PAGES = 50;

/** Why an address cannot be sent at all, or null. Nothing is sent for such an address. */
function unsendable(email: unknown): string | null {
  if (typeof email !== 'string' || email.trim() === '') return 'no address given; nothing sent';
  return null;
}

/**
 * The delete request: `email` and the credentials, nothing else. Deliberately takes no other
 * field: `days`, `startDate` or `endDate` would turn it into a delete of a whole window.
 * @throws TypeError for an empty address (a delete without `email` must never be built).
 */
export function deleteRequest(account: AccountConfig, email: string): RequestSpec {
  const problem = unsendable(email);
  if (problem !== null) throw new TypeError(`sendcloud delete: ${problem}`);
  // Idempotent: deleting an absent address answers count 0, which is 'already'.
  return formRequest(account, DELETE_PATH, { email }, { idempotent: true });
}

/** The add request: `email` only (see the file header on `expireTime`). */
export function addRequest(account: AccountConfig, email: string): RequestSpec {
  const problem = unsendable(email);
  if (problem !== null) throw new TypeError(`sendcloud add: ${problem}`);
  // Idempotent: adding an address already held answers 40402, confirmed as 'already'.
  return formRequest(account, ADD_PATH, { email }, { idempotent: true });
}

export interface SendcloudClientOptions {
  /** Clock for `expireTime` checks in `holds`, epoch ms. Default Date.now. */
  readonly now?: () => number;
}

export class SendcloudClient implements ProviderClient {
  private readonly redact: Redactor;
  private readonly now: () => number;

  constructor(
    private readonly account: AccountConfig,
    private readonly http: HttpEngine,
    options: SendcloudClientOptions = {},
  ) {
    this.redact = createRedactor(Object.values(account.credentials));
    this.now = options.now ?? Date.now;
  }

  /**
   * Adds each address, one POST per address. Outcomes: 'applied' on 40401; 'already' on 40402
   * when a list read confirms the address is held; 'failed' for an address that cannot be sent,
   * a 40402 not confirmed, or any other per-address refusal (40011/40012 invalid address…).
   * @throws ProviderError fatal on 40005/40301 (names the account; check the credentials) or an
   *   answer that is not SendCloud's envelope; HttpRequestError when a request fails for good
   *   (transport, or 5xx in-band after retries).
   */
  async add(emails: readonly string[]): Promise<WriteOutcome[]> {
    const outcomes: WriteOutcome[] = [];
    for (const email of emails) outcomes.push(await this.addOne(email));
    return outcomes;
  }

  /**
   * Deletes each address, one POST with `email` only per address. Outcomes: 'applied' when
   * `info.count` ≥ 1, 'already' when 0, 'failed' for an address that cannot be sent or a refusal.
   * @throws as `add`.
   */
  async remove(emails: readonly string[]): Promise<WriteOutcome[]> {
    const outcomes: WriteOutcome[] = [];
    for (const email of emails) outcomes.push(await this.removeOne(email));
    return outcomes;
  }

  /**
   * True when `unsubscribe/list?email=` (with the account's filters) returns a row for this
   * address that has not expired; false otherwise; null for a scope other than 'global'
   * (SendCloud has no list-level opt-outs).
   * @throws TypeError for an empty address (nothing sent); ProviderError fatal on 40005/40301,
   *   skippable when SendCloud calls the address invalid (40011/40012), fatal for other refusals;
   *   HttpRequestError after retries.
   */
  async holds(email: string, scope?: string): Promise<boolean | null> {
    if (scope !== undefined && scope !== 'global') return null;
    const problem = unsendable(email);
    if (problem !== null) throw new TypeError(`sendcloud holds(): ${problem}`);
    return this.lookup(email, listFilters(this.account));
  }

  /**
   * The query sends the address without surrounding whitespace (SendCloud refuses ` a@b` as an
   * invalid address, 40012, while its list may still hold such a row) and compares every row
   * after DESIGN.md normalisation, so case and padding differences match as in the warehouse.
   */
  private async lookup(email: string, filters: Record<string, string>): Promise<boolean> {
    const wanted = normaliseEmail(email);
    const what = 'unsubscribe/list email=…';
    for (let page = 0; page < MAX_HOLDS_PAGES; page++) {
      let rows: ReturnType<typeof listRows>['rows'] = [];
      await this.http.request(
        formRequest(
          this.account,
          LIST_PATH,
          {
            email: email.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, ''),
            start: String(page * PAGE_SIZE),
            limit: String(PAGE_SIZE),
            ...filters,
          },
          { idempotent: true },
        ),
        (response) => {
          const env = parseEnvelope(response, this.account, what);
          if (!env.result) {
            const error = envelopeError(env, this.account, what);
            if (env.statusCode === 40011 || env.statusCode === 40012) {
              throw new ProviderError(
                `sendcloud account "${this.account.id}": ${what} refused the address as invalid (${describeEnvelope(env)})`,
                {
                  ...error.details,
                  family: 'skippable',
                },
              );
            }
            throw error;
          }
          rows = listRows(env, this.account, what).rows;
        },
      );
      const now = this.now();
      if (
        rows.some((row) => normaliseEmail(row.email) === wanted && !this.expired(row.rawExpires ?? null, now))
      )
        return true;
      if (rows.length < PAGE_SIZE) return false;
    }
    throw new ProviderError(
      `sendcloud account "${this.account.id}": ${what} still returned full pages after ${MAX_HOLDS_PAGES}; the provider ignores start`,
      { provider: PROVIDER, accountId: this.account.id, providerCode: 'PAGING', family: 'fatal' },
    );
  }

  /** An `expireTime` in the past (account zone, §5). Unreadable or absent → not expired (keep blocking). */
  private expired(expireTime: string | null, now: number): boolean {
    if (expireTime === null) return false;
    try {
      return parseLocalDateTime(expireTime, this.account.timezone) <= now;
    } catch {
      // An expiry we cannot read must not make verify report an address as not held.
      return false;
    }
  }

  /**
   * Sends one write; auth and transient failures are thrown from the validate hook (fatal stops
   * the replay, retriable makes the engine retry), every other envelope is returned for the
   * caller to turn into an outcome.
   */
  private async write(spec: RequestSpec, what: string): Promise<Envelope> {
    let env: Envelope | undefined;
    await this.http.request(spec, (response: HttpResponse) => {
      env = parseEnvelope(response, this.account, what);
      const code = env.statusCode;
      if (
        !env.result &&
        (code === AUTH_FAILED ||
          code === USER_UNKNOWN ||
          code === DUPLICATE_REQUEST ||
          (code >= 500 && code <= 599))
      ) {
        throw envelopeError(env, this.account, what);
      }
    });
    return env!;
  }

  private message(env: Envelope, note?: string): string {
    return this.redact(`${describeEnvelope(env)}${note ? `; ${note}` : ''}`);
  }

  private async addOne(email: string): Promise<WriteOutcome> {
    const problem = unsendable(email);
    if (problem !== null) return { email, outcome: 'failed', providerMessage: problem };
    const env = await this.write(addRequest(this.account, email), 'unsubscribe/add');
    if (env.result && env.statusCode === ADD_CREATED) {
      return { email, outcome: 'applied', providerMessage: this.message(env) };
    }
    if (!env.result && env.statusCode === ADD_FAILED) {
      // Unfiltered: the question is whether SendCloud blocks the address at all.
      if (await this.lookup(email, {})) {
        return {
          email,
          outcome: 'already',
          providerMessage: this.message(env, 'already on the list (list?email= confirms)'),
        };
      }
      return { email, outcome: 'failed', providerMessage: this.message(env, 'not on the list either') };
    }
    return { email, outcome: 'failed', providerMessage: this.message(env) };
  }

  private async removeOne(email: string): Promise<WriteOutcome> {
    const problem = unsendable(email);
    if (problem !== null) return { email, outcome: 'failed', providerMessage: problem };
    const env = await this.write(deleteRequest(this.account, email), 'unsubscribe/delete');
    const count = env.info.count;
    if (env.result && env.statusCode === 200 && typeof count === 'number') {
      return count > 0
        ? { email, outcome: 'applied', providerMessage: this.message(env, `count ${count}`) }
        : { email, outcome: 'already', providerMessage: this.message(env, 'count 0: not on the list') };
    }
    return { email, outcome: 'failed', providerMessage: this.message(env) };
  }
}

/** One client per account (never shared): ProviderModule.createClient. */
export const createSendcloudClient = (account: AccountConfig, http: HttpEngine): SendcloudClient =>
  new SendcloudClient(account, http);
