import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  contentSecurityPolicy,
  cspHash,
  embedJson,
  embedJsonText,
  escapeHtml,
  loadAssets,
  renderReportHtml,
} from '../../../reports/html.js';
import { buildReportModel, type ReportModel } from '../../../reports/model.js';
import type { ReportInputs } from '../../../reports/queries.js';

const HOSTILE = '</script><script>alert(1)</script><!--"\'&@xss.example\u2028';

function model(): ReportModel {
  const inputs: ReportInputs = {
    accounts: ['a', 'b'],
    transformRun: {
      run_id: 'T1',
      command: 'transform',
      started_at: '2026-01-01T00:00:00.000Z',
      finished_at: '2026-01-01T00:00:01.000Z',
      status: 'succeeded',
      args: {},
    },
    groups: [
      {
        run_id: 'T1',
        group_id: 'g',
        policy: 'union',
        members: ['a', 'b'],
        diffed: true,
        allowed_incomplete: false,
        incomplete_accounts: [],
        detail: null,
      },
    ],
    discrepancies: [
      {
        run_id: 'T1',
        group_id: 'g',
        policy: 'union',
        kind: 'missing',
        email_norm: HOSTILE,
        present_in: ['a'],
        missing_from: ['b'],
        first_unsubscribed_at: null,
        evidence_idx: 1,
      },
    ],
    summary: [],
    accountCounts: [],
    rejects: [
      { run_id: 'E1', account_id: 'a', raw_value: `{{DATA}} $& ${HOSTILE}`, reason: 'contains_whitespace' },
    ],
    completeness: [],
    evidence: { index: '{"runs":[],"requests":[]}', chunks: [`[[[0,"global",${JSON.stringify(HOSTILE)}]]]`] },
    totals: {
      discrepancies: 1,
      byGroupKind: [{ group_id: 'g', kind: 'missing', discrepancies: 1 }],
      rejects: 1,
    },
  };
  return buildReportModel(inputs, {
    reportRunId: 'R1',
    generatedAt: new Date('2026-01-02T00:00:00Z'),
    groupFilter: null,
    warehouse: '/w.duckdb',
    config: { accounts: [], groups: [] },
  });
}

/** The text of each `<script …>…</script>` element, with its opening tag. */
function scripts(html: string): Array<{ tag: string; body: string }> {
  return [...html.matchAll(/(<script\b[^>]*>)([\s\S]*?)<\/script>/gi)].map((m) => ({
    tag: m[1]!,
    body: m[2]!,
  }));
}

describe('embedJson', () => {
  it('cannot close its element or open a comment, and JSON.parse reads the value back unchanged', () => {
    const value = { s: HOSTILE, t: '<!-- x --> & <b>' };
    const text = embedJson(value);
    expect(text).not.toMatch(/[<>&\u2028\u2029]/);
    expect(JSON.parse(text)).toEqual(value);
  });
});

describe('embedJsonText', () => {
  it('escapes JSON text built elsewhere the same way, without changing its value', () => {
    const text = JSON.stringify({ a: [HOSTILE, 1, null], '<k>': '&' });
    expect(embedJsonText(text)).toBe(embedJson(JSON.parse(text)));
    expect(JSON.parse(embedJsonText(text))).toEqual(JSON.parse(text));
  });
});

describe('escapeHtml', () => {
  it('escapes markup and both quote characters', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&#60;a href=&#34;x&#34;&#62;&#39;&#38;&#39;&#60;/a&#62;');
  });
});

describe('renderReportHtml', () => {
  const html = renderReportHtml(model());

  it('has the data, the page script, then the evidence blocks, and no other script element', () => {
    const found = scripts(html);
    expect(found.map((s) => s.tag)).toEqual([
      '<script type="application/json" id="report-data">',
      '<script>',
      '<script type="application/json" id="report-evidence-index">',
      '<script type="application/json" id="report-evidence-0">',
    ]);
    expect(found[1]!.body).toBe(loadAssets().script);
  });

  it('round-trips hostile data through the embedded JSON, and keeps placeholders and $ patterns in data literal', () => {
    const [data, , , evidence] = scripts(html);
    const payload = JSON.parse(data!.body);
    expect(payload.discrepancies[0][2]).toBe(HOSTILE);
    expect(JSON.parse(evidence!.body)[0][0][2]).toBe(HOSTILE);
    expect(payload.rejects[0][1]).toBe(`{{DATA}} $& ${HOSTILE}`);
    expect(html).not.toContain('<script>alert(1)');
  });

  it('allows only the inline script and style by hash, and nothing from the network', () => {
    const { script, style } = loadAssets();
    const csp = contentSecurityPolicy(script, style);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain(`script-src ${cspHash(script)}`);
    expect(csp).toContain(`style-src ${cspHash(style)}`);
    expect(csp).toContain("require-trusted-types-for 'script'");
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|https?:|\*/);
    expect(cspHash(script)).toBe(`'sha256-${createHash('sha256').update(script).digest('base64')}'`);
    expect(html).toContain(`<meta http-equiv="Content-Security-Policy" content="${escapeHtml(csp)}">`);
    const style0 = /<style>([\s\S]*?)<\/style>/.exec(html)?.[1];
    expect(style0).toBe(style);
  });

  it('has no inline event handler, external reference or HTML-string sink in the template and page script', () => {
    const { template, script, style } = loadAssets();
    for (const text of [template, script, style]) {
      expect(text).not.toMatch(/\son[a-z]+\s*=/i);
      expect(text).not.toMatch(/https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
      expect(text).not.toMatch(/@import|url\(/);
    }
    expect(script).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function/);
  });
});
