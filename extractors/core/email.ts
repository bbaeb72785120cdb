/**
 * Address normalisation and validity, the rules of DESIGN.md ("Transform"), in plain JS.
 *
 * The warehouse applies the same rules in SQL (transforms/); this module is the independent
 * reference used by the scenario ground truth, by `audit EMAIL` to normalise what the user
 * typed, and by tests that check the SQL against it.
 */

/** Reasons a raw value is rejected. The same words are used by the SQL transforms. */
export const REJECT_REASONS = {
  empty: 'empty',
  whitespace: 'contains_whitespace',
  control: 'control_character',
  tooLong: 'too_long',
  noAt: 'missing_at',
  manyAt: 'multiple_at',
  emptyLocal: 'empty_local_part',
  emptyDomain: 'empty_domain',
} as const;
export type RejectReason = (typeof REJECT_REASONS)[keyof typeof REJECT_REASONS];

/** Strip leading/trailing space, tab, CR and LF, then Unicode NFC, then lower-case. */
export function normaliseEmail(raw: string): string {
  return raw
    .replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, '')
    .normalize('NFC')
    .toLowerCase();
}

/**
 * Why a normalised value is not a usable address, or null when it is. Deliberately lenient:
 * Unicode and quoted local parts are valid (RFC 6531/5321); only what cannot be an address at
 * all is rejected, so no real opt-out is ever dropped for being unusual.
 */
export function rejectReason(normalised: string): RejectReason | null {
  if (normalised.length === 0) return REJECT_REASONS.empty;
  if (/\s/u.test(normalised)) return REJECT_REASONS.whitespace;
  // NUL and other control characters: no mail system accepts them, and downstream tools
  // (CSV readers, provider write APIs) would truncate or choke on the value.
  if (CONTROL_CHARACTER.test(normalised)) return REJECT_REASONS.control;
  if (Buffer.byteLength(normalised, 'utf8') > MAX_ADDRESS_OCTETS) return REJECT_REASONS.tooLong;
  const at = separatorIndex(normalised);
  if (at === -1) return REJECT_REASONS.noAt;
  if (at === -2) return REJECT_REASONS.manyAt;
  if (at === 0) return REJECT_REASONS.emptyLocal;
  if (at === normalised.length - 1) return REJECT_REASONS.emptyDomain;
  return null;
}

/** C0 and C1 control characters, DEL included (the whitespace ones are caught first). */
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f]/u;

/**
 * RFC 5321 §4.5.3.1.3: a path is at most 256 octets including the angle brackets, so an address
 * longer than 254 octets (UTF-8, RFC 6531) can never be delivered to, nor stored by a provider.
 */
export const MAX_ADDRESS_OCTETS = 254;

/** Index of the one `@` outside a quoted local part; -1 none, -2 more than one. */
function separatorIndex(value: string): number {
  const quoted = value.startsWith('"') ? value.indexOf('"', 1) : -1;
  const searchFrom = quoted > 0 ? quoted + 1 : 0;
  const first = value.indexOf('@', searchFrom);
  if (first === -1) return -1;
  return value.indexOf('@', first + 1) === -1 ? first : -2;
}
