/**
 * Writes and single-address checks for ONE legacy SendGrid account (seed 000/001 "Add
 * Unsubscribes", "Delete Unsubscribes"; providers/sendgrid-reseller.md §7), shared by
 * `sendgrid-reseller` and `sendgrid-subuser`; each provider binds it to its endpoint.
 *
 * - add: `task=add&email=<addr>`, one address per POST (§6: no bulk form). "Email already exists"
 *   means the target is already in the desired state → outcome 'already'.
 * - remove: `task=delete&email=<addr>`, one address per POST; "Email does not exist" → 'already'.
 *   The seed marks `email` optional on delete and the sibling `unsubscribes.delete` wiped the
 *   ENTIRE list when called without it (§7, [D:5] 2012): here every write goes through
 *   {@link writeRequest}, which takes exactly one non-blank address and always sends it, so a
 *   delete without `email` (or by date window) has no code path.
 * - holds: `task=get&email=<addr>&date=1`, then exact comparison of the listed addresses (the
 *   filter is undocumented for these endpoints [A]: a server ignoring it would list everything,
 *   and comparing the rows keeps the answer right).
 */
import type { AccountConfig } from '../config.js';
import { normaliseEmail } from '../email.js';
import type { HttpEngine } from '../http.js';
import type { ProviderClient, WriteOutcome } from '../provider.js';
import { createRedactor, type Redactor } from '../redact.js';
import {
  type Asking,
  classifyLegacyError,
  errorTexts,
  type LegacyAnswer,
  type LegacyEndpoint,
  legacyRequest,
  listRows,
  readAnswer,
} from './extract.js';

export type WriteTask = 'add' | 'delete';

/** Answers meaning "already in the desired state" (seed 000/001 "Response: Error"). */
const ALREADY: Record<WriteTask, RegExp> = {
  add: /^email already exists$/i,
  delete: /^email does not exist$/i,
};

/** True when `email` can be sent: a string with something besides whitespace. */
export function isSendable(email: unknown): email is string {
  return typeof email === 'string' && email.trim() !== '';
}

/**
 * The one builder of write requests: `task` and ONE explicit address, always sent as `email`.
 * Idempotent: repeating an add or a delete lands in the same state (the repeat answers
 * "already"), so the engine may retry it.
 * @throws TypeError for a blank address — a delete without `email` wipes the list (§7).
 */
export function writeRequest(
  endpoint: LegacyEndpoint,
  account: AccountConfig,
  task: WriteTask,
  email: string,
) {
  if (!isSendable(email)) {
    throw new TypeError(
      `${endpoint.provider}: refusing task=${task} without an address (it could wipe the list)`,
    );
  }
  return legacyRequest(
    endpoint,
    account,
    [
      ['task', task],
      ['email', email],
    ],
    { idempotent: true },
  );
}

export class SendgridLegacyClient implements ProviderClient {
  private readonly redact: Redactor;

  constructor(
    private readonly endpoint: LegacyEndpoint,
    private readonly account: AccountConfig,
    private readonly http: HttpEngine,
  ) {
    this.redact = createRedactor(Object.values(account.credentials));
  }

  /**
   * Adds each address, one POST each, in order. Outcomes: 'applied' ("success"), 'already'
   * ("Email already exists"), 'failed' (blank address, nothing sent; or a refusal such as an
   * invalid address).
   * @throws ProviderError fatal on bad credentials or unknown `user` (names the account);
   *   HttpRequestError when a request still fails after the engine's retries.
   */
  add(emails: readonly string[]): Promise<WriteOutcome[]> {
    return this.writeAll('add', emails);
  }

  /** As {@link add} with `task=delete`; 'already' for "Email does not exist". */
  remove(emails: readonly string[]): Promise<WriteOutcome[]> {
    return this.writeAll('delete', emails);
  }

  /**
   * True when the list holds an address equal to `email` after the DESIGN.md normalisation (trim,
   * NFC, lower-case): the provider itself treats addresses case-insensitively [A], and it is the
   * identity the warehouse uses, so verify agrees with the suppressions view. Equality, never a
   * prefix or substring. null for a scope other than 'global' (no list scopes here).
   * @throws TypeError for a blank address (nothing sent); ProviderError / HttpRequestError as add.
   */
  async holds(email: string, scope?: string): Promise<boolean | null> {
    if (scope !== undefined && scope !== 'global') return null;
    if (!isSendable(email)) throw new TypeError(`${this.endpoint.provider} holds(): no address given`);
    const asking = this.asking('task=get email=…');
    let held = false;
    await this.http.request(
      legacyRequest(
        this.endpoint,
        this.account,
        [
          ['task', 'get'],
          ['date', '1'],
          ['email', email],
        ],
        { idempotent: true },
      ),
      (response) => {
        const wanted = normaliseEmail(email);
        held = listRows(asking, response).some((row) => normaliseEmail(row.email) === wanted);
      },
    );
    return held;
  }

  private async writeAll(task: WriteTask, emails: readonly string[]): Promise<WriteOutcome[]> {
    const outcomes: WriteOutcome[] = [];
    for (const email of emails) outcomes.push(await this.writeOne(task, email));
    return outcomes;
  }

  private async writeOne(task: WriteTask, email: string): Promise<WriteOutcome> {
    if (!isSendable(email))
      return { email, outcome: 'failed', providerMessage: 'no address given; nothing sent' };
    const asking = this.asking(`task=${task}`);
    let outcome: WriteOutcome | undefined;
    await this.http.request(writeRequest(this.endpoint, this.account, task, email), (response) => {
      outcome = this.outcomeOf(task, email, readAnswer(asking, response), response.status, asking);
    });
    return outcome!;
  }

  /**
   * The outcome of one write answer. Throws (so the engine acts) for fatal and retriable errors;
   * any other refusal is this address's 'failed' outcome and the batch goes on.
   */
  private outcomeOf(
    task: WriteTask,
    email: string,
    answer: LegacyAnswer,
    status: number,
    asking: Asking,
  ): WriteOutcome {
    const texts = errorTexts(answer) ?? (answer.kind === 'message' ? [answer.message] : []);
    const said = this.redact(texts.join('; '));
    if (answer.kind === 'message' && status === 200 && answer.message.trim().toLowerCase() === 'success') {
      return { email, outcome: 'applied', providerMessage: said };
    }
    // The status of "already" answers is undocumented (§4 [A]): accepted with 200 or 400 alike.
    if (texts.length === 1 && ALREADY[task].test(texts[0]!.trim())) {
      return { email, outcome: 'already', providerMessage: said };
    }
    if (answer.kind === 'rows') {
      return { email, outcome: 'failed', providerMessage: `unexpected list answer to task=${task}` };
    }
    const error = classifyLegacyError(asking, status, texts);
    if (error.details.family !== 'skippable') throw error;
    return { email, outcome: 'failed', providerMessage: said || `HTTP ${status}` };
  }

  private asking(what: string): Asking {
    return { endpoint: this.endpoint, account: this.account, what };
  }
}

/** `createClient` of a legacy provider module, bound to its endpoint. */
export function createLegacyClient(
  endpoint: LegacyEndpoint,
): (account: AccountConfig, http: HttpEngine) => ProviderClient {
  return (account, http) => new SendgridLegacyClient(endpoint, account, http);
}
