/**
 * Parameter validation shared by the legacy SendGrid endpoints (seeds 000/001; rules for `days`,
 * `start_date`, `end_date`, `limit`, `offset` borrowed from Web API v2 `unsubscribes.get`,
 * providers/sendgrid-subuser.md §3b). Pure: a parameter getter in, a typed request or the error
 * answer out. Error texts are ours [A]; the shape is the generic one ("Using the Web API" [D:4]),
 * HTTP 400 ("4XX: parameter error").
 */
import type { LegacyAnswer } from './format.js';
import { isCalendarDate } from './time.js';

/** Reads one request parameter (query and form merged); undefined when absent. */
export type ParamGetter = (name: string) => string | undefined;

export type Result<T> = { ok: true; value: T } | { ok: false; answer: LegacyAnswer };

export const fail = (status: number, ...errors: string[]): { ok: false; answer: LegacyAnswer } => ({
  ok: false,
  answer: { status, body: { kind: 'errors', errors } },
});

/** A window selector as given; resolved to instants in the account's zone by the handler. */
export type WindowSelector = { kind: 'days'; days: number } | { kind: 'dates'; start: string; end: string };

export interface ListRequest {
  /** `date=1`: rows carry `created` (seed "date": "Must be set to 1"); any other value leaves it out. */
  withCreated: boolean;
  window?: WindowSelector;
  /** Exact address filter, compared case-insensitively [A]. */
  email?: string;
  /** Only on `unsubscribes.get` [D:3]. */
  limit?: number;
  offset?: number;
}

export type Task = 'get' | 'add' | 'delete';

/** `task` must be get, add or delete (seed 000/001 tables). */
export function parseTask(get: ParamGetter): Result<Task> {
  const task = get('task');
  if (task === 'get' || task === 'add' || task === 'delete') return { ok: true, value: task };
  return fail(
    400,
    task
      ? `task: unknown task "${task}", expected get, add or delete`
      : 'task: missing, expected get, add or delete',
  );
}

const POSITIVE_INT = /^[1-9]\d{0,8}$/;
const NON_NEGATIVE_INT = /^\d{1,9}$/;

/**
 * `days` xor `start_date`+`end_date` (seed note: "use either the days parameter or the start_date
 * and end_date parameter"). `days` must be an integer > 0; dates `YYYY-MM-DD` real dates with
 * `start_date` strictly earlier than `end_date` ([D:3]: "must be earlier than end_date"). An empty
 * value counts as absent, as the seed's examples send `date=` empty.
 */
export function parseWindow(get: ParamGetter): Result<WindowSelector | undefined> {
  const days = get('days') || undefined;
  const start = get('start_date') || undefined;
  const end = get('end_date') || undefined;
  if (days !== undefined && (start !== undefined || end !== undefined))
    return fail(400, 'days: use either days or start_date and end_date, not both');
  if (days !== undefined) {
    if (!POSITIVE_INT.test(days)) return fail(400, `days: "${days}" is not an integer greater than 0`);
    return { ok: true, value: { kind: 'days', days: Number(days) } };
  }
  if (start === undefined && end === undefined) return { ok: true, value: undefined };
  if (start === undefined) return fail(400, 'start_date: required with end_date (YYYY-MM-DD)');
  if (end === undefined) return fail(400, 'end_date: required with start_date (YYYY-MM-DD)');
  if (!isCalendarDate(start)) return fail(400, `start_date: "${start}" is not a date in YYYY-MM-DD format`);
  if (!isCalendarDate(end)) return fail(400, `end_date: "${end}" is not a date in YYYY-MM-DD format`);
  if (start >= end) return fail(400, 'start_date: must be earlier than end_date');
  return { ok: true, value: { kind: 'dates', start, end } };
}

/** A `task=get` (or `unsubscribes.get`) request; `paged` admits `limit`/`offset` [D:3]. */
export function parseListRequest(get: ParamGetter, paged: boolean): Result<ListRequest> {
  const window = parseWindow(get);
  if (!window.ok) return window;
  const req: ListRequest = { withCreated: get('date') === '1' };
  if (window.value) req.window = window.value;
  const email = get('email');
  if (email) req.email = email;
  if (paged) {
    const limit = get('limit') || undefined;
    const offset = get('offset') || undefined;
    if (limit !== undefined) {
      if (!NON_NEGATIVE_INT.test(limit)) return fail(400, `limit: "${limit}" is not a non-negative integer`);
      req.limit = Number(limit);
    }
    if (offset !== undefined) {
      if (!NON_NEGATIVE_INT.test(offset))
        return fail(400, `offset: "${offset}" is not a non-negative integer`);
      req.offset = Number(offset);
    }
  }
  return { ok: true, value: req };
}

/**
 * A plausible address [A]: one `@` with something on both sides and no whitespace. Unicode local
 * parts are allowed (RFC 6531), as the fixtures hold `josé@…`.
 */
export function isPlausibleEmail(email: string): boolean {
  const at = email.indexOf('@');
  return at > 0 && at === email.lastIndexOf('@') && at < email.length - 1 && !/\s/.test(email);
}

/** `task=add` / `unsubscribes.add`: `email` required and valid ([D:2] v2 page marks it required). */
export function parseAddEmail(get: ParamGetter): Result<string> {
  const email = get('email');
  if (!email) return fail(400, 'email: missing, you must specify the unsubscribe record to add');
  if (!isPlausibleEmail(email)) return fail(400, `email: "${email}" is not a valid email address`);
  return { ok: true, value: email };
}
