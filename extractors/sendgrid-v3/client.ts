/**
 * SendGrid v3 writes and single-address checks for ONE account (shared/providers/sendgrid-v3.md
 * §1, §6).
 *
 * - add: `POST /v3/asm/suppressions/global` `{"recipient_emails":[…]}` in batches of
 *   `WRITE_BATCH_SIZE`; 201 echoes the addresses. v3 does not say whether an address was already
 *   suppressed (adding one again is assumed to succeed, §6 [A]), so every echoed address is
 *   'applied'. A batch refused with 400 (one bad address spoils the batch [A]) is retried one
 *   address at a time, so only the bad addresses fail.
 * - remove: `DELETE /v3/asm/suppressions/global/{email}`, one address per call: 204 → 'applied',
 *   404 → 'already' (not on the list, §6 [A]). The historic bulk `DELETE /v3/suppression/unsubscribes`
 *   (`emails` or `delete_all`, [D:4]) is not in the current spec and can delete the whole list: no
 *   request here can take that form.
 * - holds: `GET /v3/asm/suppressions/global/{email}` — the exact single-address check (200
 *   `{"recipient_email": …}` or `{}`). Never the list's `email` parameter: that is a prefix
 *   pattern (§3), so `ann@x.com` would "find" `ann@x.com.au`.
 */
import type { AccountConfig } from '../core/config.js';
import { normaliseEmail } from '../core/email.js';
import { ProviderError } from '../core/errors.js';
import type { HttpEngine, HttpResponse } from '../core/http.js';
import type { ProviderClient, WriteOutcome } from '../core/provider.js';
import { createRedactor, type Redactor } from '../core/redact.js';
import {
  describeAnswer,
  errorItems,
  GLOBAL_PATH,
  PROVIDER,
  refusalError,
  safeJson,
  successBody,
  v3Request,
  WRITE_BATCH_SIZE,
} from './extract.js';

/** Why an address cannot be sent at all, or null. Nothing is sent for such an address. */
function unsendable(email: unknown): string | null {
  if (typeof email !== 'string' || email.trim() === '') return 'no address given; nothing sent';
  return null;
}

/** The path of one address under `/v3/asm/suppressions/global/` (every reserved character encoded, §3). */
export const addressPath = (email: string): string => `${GLOBAL_PATH}/${encodeURIComponent(email)}`;

export class SendgridV3Client implements ProviderClient {
  private readonly redact: Redactor;

  constructor(
    private readonly account: AccountConfig,
    private readonly http: HttpEngine,
  ) {
    this.redact = createRedactor(Object.values(account.credentials));
  }

  /**
   * Adds the addresses in batches of `WRITE_BATCH_SIZE`. Outcomes, in input order: 'applied' for
   * an address the 201 echoes; 'failed' for one that cannot be sent, one refused on its own with
   * 400, or one missing from the echo.
   * @throws ProviderError fatal on 401/403/451 (names the account and what to check) or an answer
   *   that is not v3's; HttpRequestError when a request fails for good (transport, 429/5xx after
   *   retries).
   */
  async add(emails: readonly string[]): Promise<WriteOutcome[]> {
    const outcomes = new Map<number, WriteOutcome>();
    const sendable: number[] = [];
    emails.forEach((email, i) => {
      const problem = unsendable(email);
      if (problem === null) sendable.push(i);
      else outcomes.set(i, { email, outcome: 'failed', providerMessage: problem });
    });
    for (let start = 0; start < sendable.length; start += WRITE_BATCH_SIZE) {
      const batch = sendable.slice(start, start + WRITE_BATCH_SIZE);
      const answer = await this.post(batch.map((i) => emails[i]!));
      if (answer.refused && batch.length > 1) {
        for (const i of batch) outcomes.set(i, await this.addAlone(emails[i]!));
      } else {
        for (const i of batch) outcomes.set(i, this.addOutcome(emails[i]!, answer));
      }
    }
    return emails.map((_, i) => outcomes.get(i)!);
  }

  /**
   * Deletes each address, one `DELETE …/global/{email}` per address. Outcomes: 'applied' on 204,
   * 'already' on 404, 'failed' for an address that cannot be sent or a 400.
   * @throws as `add`.
   */
  async remove(emails: readonly string[]): Promise<WriteOutcome[]> {
    const outcomes: WriteOutcome[] = [];
    for (const email of emails) outcomes.push(await this.removeOne(email));
    return outcomes;
  }

  /**
   * True when `GET /v3/asm/suppressions/global/{email}` names this address (compared after
   * DESIGN.md normalisation, so case and padding differences match as in the warehouse); false
   * for `{}`; null for a scope other than 'global' (v3 global suppressions have no lists).
   * @throws TypeError for an empty address (nothing sent); ProviderError fatal on a refusal;
   *   HttpRequestError after retries.
   */
  async holds(email: string, scope?: string): Promise<boolean | null> {
    if (scope !== undefined && scope !== 'global') return null;
    const problem = unsendable(email);
    if (problem !== null) throw new TypeError(`${PROVIDER} holds(): ${problem}`);
    const what = 'asm/suppressions/global/{email}';
    let held = false;
    await this.http.request(
      v3Request(this.account, 'GET', addressPath(email), { idempotent: true }),
      (response) => {
        const body = successBody(response, this.account, what);
        if (typeof body !== 'object' || body === null || Array.isArray(body)) {
          throw this.shapeError(what, 'a body that is not a JSON object');
        }
        const found = (body as Record<string, unknown>).recipient_email;
        held = typeof found === 'string' && normaliseEmail(found) === normaliseEmail(email);
      },
    );
    return held;
  }

  private shapeError(what: string, problem: string): ProviderError {
    return new ProviderError(
      `${PROVIDER} account "${this.account.id}": ${what} answered ${problem}; check the account's baseUrl`,
      { provider: PROVIDER, accountId: this.account.id, providerCode: 'SHAPE', family: 'fatal' },
    );
  }

  /**
   * One POST. A 400 is returned as `refused` (the caller isolates the bad address); every other
   * refusal is thrown from the validate hook, so fatal ones stop the replay and retriable ones
   * are retried by the engine.
   */
  private async post(
    batch: readonly string[],
  ): Promise<{ refused: boolean; echoed: Set<string>; message: string }> {
    const what = 'asm/suppressions/global (add)';
    let answer = { refused: false, echoed: new Set<string>(), message: '' };
    await this.http.request(
      v3Request(this.account, 'POST', GLOBAL_PATH, {
        json: { recipient_emails: batch },
        // [A] adding an address already on the list succeeds again (§6): safe to resend.
        idempotent: true,
      }),
      (response: HttpResponse) => {
        if (response.status === 400) {
          const items = errorItems(safeJson(response.text));
          answer = { refused: true, echoed: new Set(), message: describeAnswer(400, items) };
          return;
        }
        const body = successBody(response, this.account, what);
        const echoed = (body as { recipient_emails?: unknown } | undefined)?.recipient_emails;
        if (!Array.isArray(echoed)) throw this.shapeError(what, 'no recipient_emails array');
        answer = {
          refused: false,
          echoed: new Set(echoed.filter((e): e is string => typeof e === 'string').map(normaliseEmail)),
          message: String(response.status),
        };
      },
    );
    return answer;
  }

  private addOutcome(
    email: string,
    answer: { refused: boolean; echoed: Set<string>; message: string },
  ): WriteOutcome {
    const providerMessage = this.redact(answer.message);
    if (answer.refused) return { email, outcome: 'failed', providerMessage };
    return answer.echoed.has(normaliseEmail(email))
      ? { email, outcome: 'applied', providerMessage: this.redact(`${answer.message} added`) }
      : {
          email,
          outcome: 'failed',
          providerMessage: this.redact(`${answer.message}; not in the echoed recipient_emails`),
        };
  }

  private async addAlone(email: string): Promise<WriteOutcome> {
    return this.addOutcome(email, await this.post([email]));
  }

  private async removeOne(email: string): Promise<WriteOutcome> {
    const problem = unsendable(email);
    if (problem !== null) return { email, outcome: 'failed', providerMessage: problem };
    const what = 'asm/suppressions/global/{email} (delete)';
    let outcome: WriteOutcome | undefined;
    await this.http.request(
      v3Request(this.account, 'DELETE', addressPath(email), { idempotent: true }),
      (response: HttpResponse) => {
        if (response.status === 404 || response.status === 400) {
          const message = describeAnswer(response.status, errorItems(safeJson(response.text)));
          outcome =
            response.status === 404
              ? { email, outcome: 'already', providerMessage: this.redact(`${message}: not on the list`) }
              : { email, outcome: 'failed', providerMessage: this.redact(message) };
          return;
        }
        if (response.status >= 300) {
          throw refusalError(response, errorItems(safeJson(response.text)), this.account, what);
        }
        successBody(response, this.account, what);
        outcome = { email, outcome: 'applied', providerMessage: `${response.status} deleted` };
      },
    );
    return outcome!;
  }
}

/** One client per account (never shared): ProviderModule.createClient. */
export const createSendgridV3Client = (account: AccountConfig, http: HttpEngine): SendgridV3Client =>
  new SendgridV3Client(account, http);
