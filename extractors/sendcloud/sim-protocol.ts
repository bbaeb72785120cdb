/**
 * The pure half of the SendCloud simulator: request parameters → validated queries, entries →
 * JSON rows, outcomes → the `{result, statusCode, message, info}` envelope. No I/O, no store,
 * no clock (callers pass `now`).
 *
 * Source of truth: seed shared/seeds/002_9aa9b1da9cce908a.txt ("Query", "Add", "Delete") and
 * shared/providers/sendcloud.md (§n below). Answers the seed leaves open are marked [A] here and
 * listed in ./README.md.
 */
import { DateTime } from 'luxon';

// ---------------------------------------------------------------------------------------------
// Return codes (§4). Messages are the Chinese texts of SendCloud's apiv2 return-code table (the
// API answers in Chinese whatever the docs' language); codes 400xx marked SIM are ours.

export interface ScError {
  readonly statusCode: number;
  readonly message: string;
}

export const SC = {
  ok: { statusCode: 200, message: '请求成功' },
  /** Newer docs only; never produced by the simulator except as an `inband-error/40000` fault. */
  duplicateRequest: { statusCode: 40000, message: '重复请求' },
  startEmpty: { statusCode: 40001, message: 'start不能为空' },
  startInvalid: { statusCode: 40002, message: 'start非法' },
  limitEmpty: { statusCode: 40003, message: 'limit不能为空' },
  limitInvalid: { statusCode: 40004, message: 'limit非法' },
  auth: { statusCode: 40005, message: '认证失败' },
  daysInvalid: { statusCode: 40006, message: 'days格式非法,必须是大于0的正整数' },
  startDateInvalid: { statusCode: 40007, message: "startDate格式错误,应该类似'2013-03-19'" },
  endDateInvalid: { statusCode: 40008, message: "endDate格式错误,应该类似'2013-03-19'" },
  labelIdListEmpty: { statusCode: 40009, message: 'labelIdList不能为空' },
  apiUserListEmpty: { statusCode: 40010, message: 'apiUserList不能为空' },
  emailEmpty: { statusCode: 40011, message: 'email不能为空' },
  emailInvalid: { statusCode: 40012, message: 'email格式非法' },
  labelIdInvalid: { statusCode: 40015, message: '标签ID格式错误' },
  apiUserListInvalid: { statusCode: 40016, message: 'apiUserList格式非法' },
  addOk: { statusCode: 40401, message: '取消订阅记录创建成功' },
  addFailed: { statusCode: 40402, message: '取消订阅记录创建失败' },
  deleteFailed: { statusCode: 40404, message: '取消订阅记录删除失败' },
  serverError: { statusCode: 501, message: '服务器异常' },
  // SIM [A]: the seed requires a time frame and caps it at 3 months but documents no code for
  // either refusal; these three are the simulator's, chosen outside every documented range.
  endBeforeStart: { statusCode: 40097, message: 'endDate不能早于startDate' },
  noSelector: { statusCode: 40098, message: 'days或startDate和endDate或email必须指定一个' },
  windowTooLong: { statusCode: 40099, message: '时间范围不能超过3个月' },
} as const satisfies Record<string, ScError>;

/** Every documented or simulator code by number, for the `inband-error/<code>` fault. */
export const SC_BY_CODE: ReadonlyMap<number, ScError> = new Map(
  Object.values(SC).map((e) => [e.statusCode, e] as const),
);

/** `unsubscribeType` → `unsubscribeTypeDesc` (§4: 0–1 SendCloud, 2–3 EngageLab's twin API). */
export const UNSUBSCRIBE_TYPES: readonly string[] = [
  '我不想再收到此类邮件',
  '这不是我订阅的',
  '这是垃圾邮件',
  '这是欺诈邮件,我想举报',
];

/** A failure envelope: `result:false`, `info:{}` (§2, the 2015 docs' 40005 example). */
export const errorEnvelope = (error: ScError): string =>
  JSON.stringify({ result: false, statusCode: error.statusCode, message: error.message, info: {} });

/** A success envelope around `info`. Key order as in the seed's examples. */
export const okEnvelope = (info: unknown, status: ScError = SC.ok): string =>
  JSON.stringify({ result: true, statusCode: status.statusCode, message: status.message, info });

// ---------------------------------------------------------------------------------------------
// Time (§5): every time the API shows or takes is UTC+08:00 ("East Zone 8"). A fixed offset, not
// the Asia/Shanghai rules: it is what the docs state, and it differs only before 1992 (China's
// 1986–1991 summer time), where no suppression of ours lies.

export const OFFSET_MS = 8 * 3_600_000;
const DAY_MS = 86_400_000;
/** A window may span at most this many calendar months (seed "TIPS" 2). */
export const MAX_WINDOW_MONTHS = 3;
/** `limit` range (seed "Query": `[0-100]`, default 100). */
export const MAX_LIMIT = 100;

/** `yyyy-MM-dd HH:mm:ss` in UTC+8. */
export function formatTime(ms: number): string {
  const iso = new Date(ms + OFFSET_MS).toISOString(); // 2021-07-15T17:55:20.000Z
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}`;
}

/** [A] Shown for an entry without expiry: the seed always prints `expireTime`, never a null. */
export const NO_EXPIRY_TEXT = '9999-12-31 23:59:59';

/** Epoch ms of 00:00 UTC+8 on a calendar date given as UTC midnight of that date. */
const dayStart = (utcMidnight: number): number => utcMidnight - OFFSET_MS;

/** UTC midnight of a strict `yyyy-MM-dd` that names a real date, else undefined. */
function parseDate(text: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!m) return undefined;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const ms = Date.UTC(y, mo - 1, d);
  const back = new Date(ms);
  // Date.UTC rolls 2021-02-30 over to March: a round trip exposes impossible dates.
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d)
    return undefined;
  return ms;
}

/** UTC midnight plus calendar months, clamped to the month's last day (as luxon, as windows.ts). */
const plusMonths = (utcMidnight: number, months: number): number =>
  DateTime.fromMillis(utcMidnight, { zone: 'utc' }).plus({ months }).toMillis();

/**
 * `expireTime` of add (§3): the seed says "format is yyyy MM DD" and shows `2021-07-01 00:00:00`
 * in the answer. [A] Accepted: `yyyy-MM-dd`, `yyyy MM dd`, `yyyyMMdd` (00:00 UTC+8) and
 * `yyyy-MM-dd HH:mm:ss`. Returns epoch ms, or undefined when unparsable.
 */
export function parseExpireTime(text: string): number | undefined {
  const m =
    /^(\d{4})[- ]?(\d{2})[- ]?(\d{2})$/.exec(text) ??
    /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/.exec(text);
  if (!m) return undefined;
  const day = parseDate(`${m[1]}-${m[2]}-${m[3]}`);
  if (day === undefined) return undefined;
  const [h, mi, s] = [Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0)];
  if (h > 23 || mi > 59 || s > 59) return undefined;
  return dayStart(day) + ((h * 60 + mi) * 60 + s) * 1000;
}

// ---------------------------------------------------------------------------------------------
// Addresses

/**
 * [A] SendCloud's rule is undocumented; ours refuses what cannot be an address and accepts what
 * DESIGN.md keeps (Unicode, quoted local parts), so replaying a valid address never fails here:
 * no whitespace outside quotes, one `@` after the local part, non-empty local part, a domain of
 * non-empty dot-separated labels with at least one dot.
 */
export function isValidEmail(email: string): boolean {
  let local: string;
  let domain: string;
  if (email.startsWith('"')) {
    const close = email.indexOf('"@', 1);
    if (close < 0) return false;
    local = email.slice(0, close + 1);
    domain = email.slice(close + 2);
  } else {
    const at = email.indexOf('@');
    if (at < 0 || email.indexOf('@', at + 1) >= 0) return false;
    local = email.slice(0, at);
    domain = email.slice(at + 1);
    if (/\s/u.test(local)) return false;
  }
  if (local.length === 0 || local === '""' || domain.includes('@') || /\s/u.test(domain)) return false;
  const labels = domain.split('.');
  return labels.length >= 2 && labels.every((l) => l.length > 0);
}

/** The `domain` field: everything after the last `@`, as stored. */
export const domainOf = (email: string): string => email.slice(email.lastIndexOf('@') + 1);

// ---------------------------------------------------------------------------------------------
// Requests (§3). Parameter names are case-sensitive, as the seed spells them.

/** A time frame: `[fromMs, toMs)` covering whole UTC+8 days. */
export interface TimeFrame {
  readonly fromMs: number;
  readonly toMs: number;
}

/** What a list or delete selects: an address (frame ignored) or a frame. */
export type Selector =
  | { readonly kind: 'email'; readonly email: string }
  | { readonly kind: 'frame'; readonly frame: TimeFrame };

export interface ListQuery {
  readonly selector: Selector;
  readonly start: number;
  readonly limit: number;
  /** undefined = no filter. */
  readonly apiUsers?: ReadonlySet<string>;
  readonly labelIds?: ReadonlySet<string>;
  readonly labelNames?: ReadonlySet<string>;
}

export type Parsed<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: ScError };

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const fail = <T>(error: ScError): Parsed<T> => ({ ok: false, error });

type Params = Readonly<Record<string, string>>;

/** A non-negative decimal integer without sign or spaces; undefined otherwise. */
function parseNonNegativeInt(text: string): number | undefined {
  if (!/^\d{1,9}$/.test(text)) return undefined;
  return Number(text);
}

/**
 * The time frame of `days` or `startDate`+`endDate` (seed TIPS 1–2; §6):
 *  - `days=N` = the N UTC+8 calendar days ending today (`days=1` is today) [A: calendar days];
 *  - `startDate`..`endDate` = whole days, both inclusive [A]; when either date is present the
 *    dates are used and `days` is ignored [A];
 *  - either way the frame may not be longer than 3 calendar months: `[first day, last day + 1)`
 *    must end no later than the first day plus 3 months (2021-01-01..2021-03-31 passes,
 *    ..2021-04-01 does not) [A: the seed says "3 months" without defining it]. This applies to
 *    `days` too — the seed's own example `days=100` is refused (README "Window limit").
 * Returns undefined (inside ok) when no frame parameter is present.
 */
export function parseTimeFrame(params: Params, nowMs: number): Parsed<TimeFrame | undefined> {
  const { startDate, endDate, days } = params;
  let firstDay: number; // UTC midnight of the first calendar day
  let endDay: number; // UTC midnight of the day after the last one
  if (startDate !== undefined || endDate !== undefined) {
    const from = startDate === undefined ? undefined : parseDate(startDate);
    if (from === undefined) return fail(SC.startDateInvalid);
    const to = endDate === undefined ? undefined : parseDate(endDate);
    if (to === undefined) return fail(SC.endDateInvalid);
    if (to < from) return fail(SC.endBeforeStart);
    firstDay = from;
    endDay = to + DAY_MS;
  } else if (days !== undefined) {
    const n = parseNonNegativeInt(days);
    if (n === undefined || n < 1) return fail(SC.daysInvalid);
    const today = Math.floor((nowMs + OFFSET_MS) / DAY_MS) * DAY_MS;
    endDay = today + DAY_MS;
    firstDay = today - (n - 1) * DAY_MS;
  } else return ok(undefined);
  if (endDay > plusMonths(firstDay, MAX_WINDOW_MONTHS)) return fail(SC.windowTooLong);
  return ok({ fromMs: dayStart(firstDay), toMs: dayStart(endDay) });
}

/**
 * The `email` selector, when the parameter is present: empty → 40011, invalid → 40012.
 * Given, it wins and the frame is not even validated (seed TIPS 3: "time frame is invalid now").
 */
function parseEmailSelector(params: Params): Parsed<Selector | undefined> {
  const email = params['email'];
  if (email === undefined) return ok(undefined);
  if (email === '') return fail(SC.emailEmpty);
  if (!isValidEmail(email)) return fail(SC.emailInvalid);
  return ok({ kind: 'email', email });
}

/** Email, else frame, else 40098 (seed: one of the `*` parameters is required). */
function parseSelector(params: Params, nowMs: number): Parsed<Selector> {
  const byEmail = parseEmailSelector(params);
  if (!byEmail.ok) return byEmail;
  if (byEmail.value) return ok(byEmail.value);
  const frame = parseTimeFrame(params, nowMs);
  if (!frame.ok) return frame;
  if (!frame.value) return fail(SC.noSelector);
  return ok({ kind: 'frame', frame: frame.value });
}

/**
 * A `a;b;c` list (seed: "separated by semicolons"). Empty → `empty`; an empty item or one failing
 * `item` → `invalid`. [A] The seed example's `[…;…]` brackets are placeholder notation, so a
 * literal bracket is an invalid item, not decoration we strip.
 */
function parseList(
  text: string | undefined,
  item: RegExp,
  empty: ScError,
  invalid: ScError,
): Parsed<ReadonlySet<string> | undefined> {
  if (text === undefined) return ok(undefined);
  if (text === '') return fail(empty);
  const items = text.split(';');
  if (items.some((i) => !item.test(i))) return fail(invalid);
  return ok(new Set(items));
}

/** apiUser names: letters, digits, `_` (SendCloud's apiUser naming rule), plus `.` `-` [A]. */
const API_USER_RE = /^[A-Za-z0-9_.-]+$/;
const LABEL_ID_RE = /^\d+$/;

/**
 * `unsubscribe/list` parameters (seed "Query"), checked in the order of §8:
 * start → limit → selector (email, else days / startDate+endDate) → apiUserList → labelIdList →
 * labelNameList. Absent `start`/`limit` default to 0/100; present but empty → 40001/40003.
 */
export function parseListQuery(params: Params, nowMs: number): Parsed<ListQuery> {
  let start = 0;
  if (params['start'] !== undefined) {
    if (params['start'] === '') return fail(SC.startEmpty);
    const n = parseNonNegativeInt(params['start']);
    if (n === undefined) return fail(SC.startInvalid);
    start = n;
  }
  let limit = MAX_LIMIT;
  if (params['limit'] !== undefined) {
    if (params['limit'] === '') return fail(SC.limitEmpty);
    const n = parseNonNegativeInt(params['limit']);
    if (n === undefined || n > MAX_LIMIT) return fail(SC.limitInvalid);
    limit = n;
  }
  const selector = parseSelector(params, nowMs);
  if (!selector.ok) return selector;
  const apiUsers = parseList(params['apiUserList'], API_USER_RE, SC.apiUserListEmpty, SC.apiUserListInvalid);
  if (!apiUsers.ok) return apiUsers;
  const labelIds = parseList(params['labelIdList'], LABEL_ID_RE, SC.labelIdListEmpty, SC.labelIdInvalid);
  if (!labelIds.ok) return labelIds;
  // [A] No code exists for labelNameList; an empty value or empty item filters nothing out.
  const names = params['labelNameList'];
  const labelNames = names ? new Set(names.split(';').filter((n) => n !== '')) : undefined;
  return ok({
    selector: selector.value,
    start,
    limit,
    ...(apiUsers.value ? { apiUsers: apiUsers.value } : {}),
    ...(labelIds.value ? { labelIds: labelIds.value } : {}),
    ...(labelNames && labelNames.size > 0 ? { labelNames } : {}),
  });
}

export interface AddCommand {
  readonly email: string;
  /** undefined = never expires ([A] the 2015 docs have no `expireTime`; the seed example omits it). */
  readonly expiresAt?: number;
}

/**
 * `unsubscribe/add` parameters (seed "Add"): `email` required (40011/40012); `expireTime`
 * optional [A] despite "required" (the seed's own request omits it), unparsable → 40402.
 */
export function parseAddCommand(params: Params): Parsed<AddCommand> {
  const email = params['email'];
  if (email === undefined || email === '') return fail(SC.emailEmpty);
  if (!isValidEmail(email)) return fail(SC.emailInvalid);
  const expire = params['expireTime'];
  if (expire === undefined || expire === '') return ok({ email });
  const expiresAt = parseExpireTime(expire);
  if (expiresAt === undefined) return fail(SC.addFailed);
  return ok({ email, expiresAt });
}

/**
 * `unsubscribe/delete` parameters (seed "Delete"): `email`, or a frame — which deletes EVERY
 * entry in it (seed TIPS 1: "delete all unsubscribed addresses within the period"). Nothing
 * given → 40098 [A] (the seed marks the selectors `*`: one is required).
 */
export const parseDeleteCommand = (params: Params, nowMs: number): Parsed<Selector> =>
  parseSelector(params, nowMs);

// ---------------------------------------------------------------------------------------------
// Rows (seed "Returned Value Example")

/** The row fields the simulator keeps beyond the kit's `SimEntry`. */
export interface RowEntry {
  readonly email: string;
  readonly at: number;
  readonly label?: string;
  readonly apiUser?: string;
  readonly expiresAt?: number;
}

/** [A] An entry without a label is label 0 with an empty name, as in the seed's example row. */
export const labelIdOf = (entry: { readonly label?: string }): string => entry.label ?? '0';

/** `labelId` is a number in the seed's rows; a non-numeric stored id is kept as a string. */
const labelIdJson = (id: string): number | string => (LABEL_ID_RE.test(id) ? Number(id) : id);

/**
 * One `dataList` row, keys in the seed's order. The seed prints `"labelId"` twice (0 and "");
 * the field table names the second "label Name", so it is emitted as `labelName` (§4).
 */
export function renderRow(
  entry: RowEntry,
  labelName: string,
  unsubscribeType: number,
  accountApiUser: string,
): string {
  return JSON.stringify({
    email: entry.email,
    unsubscribeTime: formatTime(entry.at),
    expireTime: entry.expiresAt === undefined ? NO_EXPIRY_TEXT : formatTime(entry.expiresAt),
    domain: domainOf(entry.email),
    labelId: labelIdJson(labelIdOf(entry)),
    labelName,
    apiUser: entry.apiUser ?? accountApiUser,
    unsubscribeType,
    unsubscribeTypeDesc: UNSUBSCRIBE_TYPES[unsubscribeType] ?? '',
  });
}

/** `info.data` of an add answer: the seed's add example has no `labelName`. */
export function renderAddedRow(entry: RowEntry, accountApiUser: string): Record<string, unknown> {
  return {
    email: entry.email,
    unsubscribeTime: formatTime(entry.at),
    expireTime: entry.expiresAt === undefined ? NO_EXPIRY_TEXT : formatTime(entry.expiresAt),
    domain: domainOf(entry.email),
    labelId: labelIdJson(labelIdOf(entry)),
    apiUser: entry.apiUser ?? accountApiUser,
    unsubscribeType: 0,
    unsubscribeTypeDesc: UNSUBSCRIBE_TYPES[0],
  };
}

/** The streamed list answer: head, rows joined by `,`, tail with `count` (seed key order). */
export const LIST_HEAD = `{"result":true,"statusCode":200,"message":"${SC.ok.message}","info":{"dataList":[`;
export const listTail = (count: number): string => `],"count":${count}}}`;
