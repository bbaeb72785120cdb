/**
 * The HTML report: one self-contained file from reports/assets/template.html.tmpl (not `.html`,
 * so formatters leave its `{{NAME}}` placeholders alone), the stylesheet and
 * the page script inlined, the data embedded as JSON. Pure apart from reading the assets once.
 *
 * Safety, since every value from a provider is hostile:
 *  - a Content-Security-Policy (meta) allows nothing but the one inline script and stylesheet,
 *    each by its SHA-256 hash: no network, no other script, no inline event handler, no plugin,
 *    no form target, no base URL; Trusted Types are required, so even the page script cannot
 *    parse an HTML string;
 *  - data goes in `<script type="application/json">` with `<`, `>`, `&` and U+2028/2029 escaped
 *    as `\uXXXX`, so no value can close the element or open a comment; the script reads it with
 *    JSON.parse and writes it with textContent;
 *  - the few values in the markup itself (title, subtitle) are HTML-escaped.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ReportModel } from './model.js';
import { ReportError, reportsSourceDir } from './queries.js';

export interface ReportAssets {
  template: string;
  style: string;
  script: string;
}

let cachedAssets: ReportAssets | undefined;

/** The template, stylesheet and page script from reports/assets/. */
export function loadAssets(): ReportAssets {
  if (cachedAssets === undefined) {
    const dir = `${reportsSourceDir()}/assets`;
    cachedAssets = {
      template: readFileSync(`${dir}/template.html.tmpl`, 'utf8'),
      style: readFileSync(`${dir}/style.css`, 'utf8'),
      script: readFileSync(`${dir}/app.js`, 'utf8'),
    };
  }
  return cachedAssets;
}

/** HTML text escaping for element content and double-quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * JSON that is safe as the content of a `<script type="application/json">` element: characters
 * that could end the element or start markup become `\uXXXX` escapes, which JSON.parse reads
 * back unchanged.
 */
export function embedJson(value: unknown): string {
  return embedJsonText(JSON.stringify(value));
}

/**
 * {@link embedJson} for JSON that is already text (the evidence block DuckDB builds). Outside
 * string literals JSON has none of these characters, so every one replaced is inside a string,
 * where `\uXXXX` means the same character.
 */
export function embedJsonText(json: string): string {
  return json.replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** `'sha256-…'` of an inline script or style, as CSP source expressions name them. */
export function cspHash(content: string): string {
  return `'sha256-${createHash('sha256').update(content, 'utf8').digest('base64')}'`;
}

/** The page's policy: only the given inline script and style run; nothing is fetched. */
export function contentSecurityPolicy(script: string, style: string): string {
  return [
    "default-src 'none'",
    `script-src ${cspHash(script)}`,
    `style-src ${cspHash(style)}`,
    'img-src data:',
    "base-uri 'none'",
    "form-action 'none'",
    "require-trusted-types-for 'script'",
    "trusted-types 'none'",
  ].join('; ');
}

/** The page's placeholder where the evidence blocks go: the page is written in pieces around it. */
const EVIDENCE_PLACEHOLDER = '{{EVIDENCE}}';

/**
 * The whole report page, in pieces to write one after the other: the page up to and including
 * its script, then the evidence as JSON blocks after the script, so the first render never waits
 * for them — `report-evidence-index` (runs, requests), then `report-evidence-<n>` per block of
 * addresses — then the end of the page. No piece repeats another, so writing them costs the
 * memory of the largest, not of the page.
 */
export function* reportHtmlPieces(
  model: ReportModel,
  assets: ReportAssets = loadAssets(),
): Generator<string> {
  const { meta } = model.payload;
  const scope = meta.groupFilter === null ? 'all groups' : `group ${meta.groupFilter}`;
  const values: Record<string, string> = {
    CSP: escapeHtml(contentSecurityPolicy(assets.script, assets.style)),
    TITLE: escapeHtml(`unsub-recon report ${meta.reportRunId} (${scope})`),
    SUBTITLE: escapeHtml(
      `Report run ${meta.reportRunId}, ${meta.generatedAt}, on ${meta.transformRun.command} run ${meta.transformRun.runId} · ${scope}`,
    ),
    STYLE: assets.style,
    SCRIPT: assets.script,
    DATA: embedJson(model.payload),
  };
  // One pass with a replacer function: inserted values are never scanned for placeholders or `$`.
  const fill = (text: string) =>
    text.replace(/\{\{([A-Z]+)\}\}/g, (whole, name: string) => values[name] ?? whole);
  const cut = assets.template.indexOf(EVIDENCE_PLACEHOLDER);
  if (cut < 0) throw new ReportError(`reports/assets/template.html.tmpl has no ${EVIDENCE_PLACEHOLDER}`);
  const block = (id: string, json: string) =>
    `<script type="application/json" id="${id}">${embedJsonText(json)}</script>`;
  yield fill(assets.template.slice(0, cut));
  yield block('report-evidence-index', model.evidence.index);
  for (const [n, json] of model.evidence.chunks.entries()) yield `\n${block(`report-evidence-${n}`, json)}`;
  yield fill(assets.template.slice(cut + EVIDENCE_PLACEHOLDER.length));
}

/** The whole report page as one string (small reports and tests; writeReport writes the pieces). */
export function renderReportHtml(model: ReportModel, assets: ReportAssets = loadAssets()): string {
  return [...reportHtmlPieces(model, assets)].join('');
}
