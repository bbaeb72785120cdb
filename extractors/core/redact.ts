/**
 * One redaction function, applied at every boundary where text leaves the process or lands in
 * the warehouse: request URLs and bodies, error messages, logs, journals.
 *
 * Two layers, because either alone misses something:
 *  1. every configured secret value (and its URL-encoded / form-encoded spellings) is replaced;
 *  2. the values of parameters whose *names* mean "secret" are replaced, so a key we were never
 *     told about (a typo in the config, a provider echoing a token back) still does not leak.
 */
export const REDACTED = '***';

/** Query/form/XML field names whose values are always secret, whatever the config says. */
export const SECRET_FIELD_NAMES = [
  'api_key',
  'apikey',
  'api_user',
  'apiuser',
  'password',
  'p',
  'r',
  'realm',
  'shared_secret',
  'sharedsecret',
  'secret',
  'token',
  'access_token',
  'authorization',
  'key',
] as const;

export type Redactor = (text: string) => string;

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Builds a redactor for a set of secret values. `byName: false` keeps only the value layer: for
 * provider data (raw rows), where a field called `apiUser` is data unless its value is a secret. Secrets shorter than 3 characters are ignored
 * for the value layer (replacing every "a" would destroy the text); the name layer still
 * covers them when they travel as named parameters.
 */
export function createRedactor(secrets: Iterable<string>, options: { byName?: boolean } = {}): Redactor {
  const byName = options.byName ?? true;
  const spellings = new Set<string>();
  for (const secret of secrets) {
    if (!secret || secret.length < 3) continue;
    spellings.add(secret);
    spellings.add(encodeURIComponent(secret));
    spellings.add(new URLSearchParams({ x: secret }).toString().slice(2));
    spellings.add(escapeXml(secret));
  }
  // Longest first, so a secret that contains another is replaced whole.
  const ordered = [...spellings].filter((s) => s.length > 0).sort((a, b) => b.length - a.length);
  const valuePattern = ordered.length > 0 ? new RegExp(ordered.map(escapeRegExp).join('|'), 'g') : null;
  const names = SECRET_FIELD_NAMES.map(escapeRegExp).join('|');
  // name=value in query strings and form bodies (stops at & # whitespace or a quote)
  const paramPattern = new RegExp(`([?&;](?:${names})=)[^&#\\s"'<]*`, 'gi');
  // <api_key>value</api_key> and similar XML elements (BlueHornet puts credentials in XML)
  const xmlPattern = new RegExp(`(<(${names})>)[^<]*(</\\2>)`, 'gi');
  // "apiKey": "value" in JSON
  const jsonPattern = new RegExp(`("(?:${names})"\\s*:\\s*")[^"]*(")`, 'gi');
  // Authorization: Bearer xyz
  const bearerPattern = /(Bearer\s+)[A-Za-z0-9._~+/=-]+/g;

  return (text: string): string => {
    let out = text;
    if (valuePattern) out = out.replace(valuePattern, REDACTED);
    if (!byName) return out;
    return out
      .replace(paramPattern, `$1${REDACTED}`)
      .replace(xmlPattern, `$1${REDACTED}$3`)
      .replace(jsonPattern, `$1${REDACTED}$2`)
      .replace(bearerPattern, `$1${REDACTED}`);
  };
}

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
