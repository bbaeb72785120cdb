/**
 * BlueHornet writes and single-address checks for ONE account (shared/providers/bluehornet.md §4).
 *
 * - add: `legacy.manage_subscriber` with `optout=1` AND `check_optout=1`, one address per POST
 *   (its doc page warns against combining it with other calls, D:5). `check_optout=1` is sent as
 *   well so that even a service that ignored `optout` could not re-activate an opted-out contact:
 *   the bare update (neither flag) is the destructive form (README "manage_subscriber") and no
 *   code path here builds it. `remove=1` is never sent either.
 * - Whether an address is already opted out is read first (`holds`): `manage_subscriber` answers
 *   status 2 "User has been updated" both when it opts an active contact out and when the
 *   contact was opted out already, so only the read can tell 'already' from 'applied' — and an
 *   address already held gets no write at all.
 * - remove: refused (capabilities.canDelete false): there is no documented way to undo an opt-out.
 * - holds: `legacy.retrieve_unsub` with `email` only — the seed's documented "verify whether a
 *   specific individual has been unsubscribed" search, which covers the account's whole history
 *   without any date bounds to get wrong.
 */
import type { AccountConfig } from '../core/config.js';
import { normaliseEmail } from '../core/email.js';
import { ProviderError } from '../core/errors.js';
import type { HttpEngine, HttpResponse } from '../core/http.js';
import type { ProviderClient, WriteOutcome } from '../core/provider.js';
import { createRedactor, type Redactor } from '../core/redact.js';
import {
  type AnswerItem,
  answerItemsOrThrow,
  capabilities,
  child,
  envelopeRequest,
  fieldText,
  isAuthFailure,
  isXmlSafe,
  itemError,
  MANAGE_SUBSCRIBER,
  manifestRows,
  PROVIDER,
  RETRIEVE_UNSUB,
} from './extract.js';

/** `manage_subscriber` statuses that mean the contact is now opted out: 1 added, 2 updated (§4 C:2, C:4). */
const OPTED_OUT_STATUSES: ReadonlySet<string> = new Set(['1', '2']);

/** Thrown by `remove`: BlueHornet cannot undo an opt-out safely (capabilities.deleteCaveat). */
export class DeleteUnsupportedError extends ProviderError {
  constructor(accountId: string) {
    super(
      `bluehornet account "${accountId}": deleting suppressions is not supported — ${capabilities.deleteCaveat}`,
      { provider: PROVIDER, accountId, providerCode: 'DELETE_UNSUPPORTED', family: 'fatal' },
    );
  }
}

/** Why an address cannot be sent at all, or null. Nothing is sent for such an address. */
function unsendable(email: string): string | null {
  if (typeof email !== 'string' || email.trim() === '') return 'no address given; nothing sent';
  if (!isXmlSafe(email)) return 'the address holds a character XML cannot carry; nothing sent';
  return null;
}

export class BlueHornetClient implements ProviderClient {
  private readonly redact: Redactor;

  constructor(
    private readonly account: AccountConfig,
    private readonly http: HttpEngine,
  ) {
    this.redact = createRedactor(Object.values(account.credentials));
  }

  /**
   * Opts each address out, one POST per address, after reading whether it already is.
   * Outcomes: 'already' when retrieve_unsub lists it (no write sent), 'applied' for status 1/2,
   * 'failed' for an address that cannot be sent or an error item (e.g. 432 invalid address).
   * @throws ProviderError fatal on 445 (names the account; check the credentials);
   *   HttpRequestError when a request fails for good (transport, or 5xx items after retries).
   */
  async add(emails: readonly string[]): Promise<WriteOutcome[]> {
    const outcomes: WriteOutcome[] = [];
    for (const email of emails) outcomes.push(await this.addOne(email));
    return outcomes;
  }

  /** Always throws DeleteUnsupportedError, before any I/O (capabilities.canDelete is false). */
  async remove(_emails: readonly string[]): Promise<WriteOutcome[]> {
    throw new DeleteUnsupportedError(this.account.id);
  }

  /**
   * True when `legacy.retrieve_unsub` with this `email` lists an address equal to it after the
   * DESIGN.md normalisation (trim, NFC, lower-case) — equality, not a prefix or substring match,
   * and the same equality the warehouse uses, so verify agrees with the suppressions view.
   * null for a scope other than 'global' (BlueHornet has no list-level opt-outs to ask about).
   * @throws TypeError for an empty or XML-unsafe address (nothing is sent);
   *   ProviderError fatal on 445 or any other error item; HttpRequestError after retries.
   */
  async holds(email: string, scope?: string): Promise<boolean | null> {
    if (scope !== undefined && scope !== 'global') return null;
    const problem = unsendable(email);
    if (problem !== null) throw new TypeError(`bluehornet holds(): ${problem}`);
    const what = `${RETRIEVE_UNSUB} email=…`;
    let item: AnswerItem | undefined;
    await this.http.request(
      envelopeRequest(this.account, [{ methodName: RETRIEVE_UNSUB, fields: [['email', email]] }], {
        noHalt: false,
        idempotent: true,
      }),
      (response) => {
        item = this.singleItem(response);
        if (item.error) throw itemError(item, this.account, what);
      },
    );
    const wanted = normaliseEmail(email);
    return manifestRows(item!).some((row) => normaliseEmail(row.email) === wanted);
  }

  private async addOne(email: string): Promise<WriteOutcome> {
    const problem = unsendable(email);
    if (problem !== null) return { email, outcome: 'failed', providerMessage: problem };
    if (await this.holds(email)) {
      return {
        email,
        outcome: 'already',
        providerMessage: 'already opted out (legacy.retrieve_unsub lists it); nothing sent',
      };
    }
    let item: AnswerItem | undefined;
    await this.http.request(
      envelopeRequest(
        this.account,
        [
          {
            methodName: MANAGE_SUBSCRIBER,
            fields: [
              ['email', email],
              ['optout', '1'],
              ['check_optout', '1'],
            ],
          },
        ],
        // Idempotent: opting out an opted-out contact keeps it (and its date) as it is, so a
        // retry after a lost answer cannot do harm.
        { noHalt: false, idempotent: true },
      ),
      (response) => {
        item = this.singleItem(response);
        // Auth stops the replay; 5xx is retried by the engine; other error items are this
        // address's failure, reported as an outcome.
        if (item.error && (isAuthFailure(item) || (item.responseCode ?? 0) >= 500)) {
          throw itemError(item, this.account, `${MANAGE_SUBSCRIBER} optout=1`);
        }
      },
    );
    const answer = item!;
    if (answer.error) {
      return {
        email,
        outcome: 'failed',
        providerMessage: this.redact(`error ${answer.responseCode ?? '?'}: ${answer.responseText}`),
      };
    }
    const status = fieldText(child(answer.responseData, 'status'));
    const message = fieldText(child(answer.responseData, 'message'));
    const text = this.redact(`status ${status || '?'}: ${message}`);
    return OPTED_OUT_STATUSES.has(status)
      ? { email, outcome: 'applied', providerMessage: text }
      : // An undocumented status: do not claim success; verify re-reads the address anyway.
        { email, outcome: 'failed', providerMessage: `unexpected answer, ${text}` };
  }

  /** The answer's one item (one call per POST); answer-level problems throw (see answerItemsOrThrow). */
  private singleItem(response: HttpResponse): AnswerItem {
    const items = answerItemsOrThrow(response, this.account);
    if (items.length !== 1) {
      throw new ProviderError(
        `bluehornet account "${this.account.id}": expected 1 item for 1 call, got ${items.length}`,
        { provider: PROVIDER, accountId: this.account.id, providerCode: 'SHAPE', family: 'fatal' },
      );
    }
    return items[0]!;
  }
}

/** A client bound to `account` (never shared between accounts). */
export function createBlueHornetClient(account: AccountConfig, http: HttpEngine): BlueHornetClient {
  return new BlueHornetClient(account, http);
}
