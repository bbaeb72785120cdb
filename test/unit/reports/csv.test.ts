import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import {
  DISCREPANCY_COLUMNS,
  discrepanciesCsv,
  FORMULA_LEAD,
  REJECT_COLUMNS,
  rejectsCsv,
  SUMMARY_COLUMNS,
  summaryCsv,
  toReportCsv,
} from '../../../reports/csv.js';

const lines = (csv: string) => csv.split('\r\n');

describe('toReportCsv: spreadsheet formula neutralisation (OWASP CSV injection)', () => {
  it.each([
    ['=HYPERLINK("http://x","y")@a.example', `"'=HYPERLINK(""http://x"",""y"")@a.example"`],
    ['+1-2@a.example', `"'+1-2@a.example"`],
    ['-cmd@a.example', `"'-cmd@a.example"`],
    ['@SUM(A1)', `"'@SUM(A1)"`],
    ['\tcalc@a.example', `"'\tcalc@a.example"`],
    ['\r=1@a.example', `"'\r=1@a.example"`],
    ['\uFF1D1+1@a.example', `"'\uFF1D1+1@a.example"`],
  ])('%j gets a leading quote and is quoted', (value, field) => {
    expect(FORMULA_LEAD.test(value)).toBe(true);
    const csv = toReportCsv(['v'], [[value]]);
    expect(lines(csv)[1]).toBe(field);
    // A CSV reader gives back the value with only the apostrophe added.
    expect(parse(csv, { columns: true })).toEqual([{ v: `'${value}` }]);
  });

  it.each(['a=b@x.example', 'x@y.example', 'jose+tag@x.example', ' -space-first@x.example', ''])(
    '%j is left as it is',
    (value) => {
      expect(parse(toReportCsv(['v'], [[value]]), { columns: true })).toEqual([{ v: value }]);
    },
  );

  it('leaves numbers alone, negative ones included', () => {
    expect(lines(toReportCsv(['n', 'b'], [[-1.5, -3n]]))[1]).toBe('-1.5,-3');
  });
});

describe('toReportCsv: RFC 4180', () => {
  it('writes a header, CRLF record ends, and quotes fields with commas, quotes and line breaks', () => {
    const csv = toReportCsv(
      ['a', 'b', 'c'],
      [
        ['plain', 'with,comma', 'with "quote"'],
        ['line\nbreak', 'cr\r\nlf', null],
      ],
    );
    expect(csv).toBe('a,b,c\r\nplain,"with,comma","with ""quote"""\r\n"line\nbreak","cr\r\nlf",\r\n');
    expect(parse(csv, { columns: true })).toEqual([
      { a: 'plain', b: 'with,comma', c: 'with "quote"' },
      { a: 'line\nbreak', b: 'cr\r\nlf', c: '' },
    ]);
  });

  it('keeps non-ASCII text as UTF-8 without a byte-order mark', () => {
    const csv = toReportCsv(['v'], [['josé.1@exämple.example']]);
    expect(csv.charCodeAt(0)).toBe('v'.charCodeAt(0));
    expect(Buffer.from(csv, 'utf8').toString('utf8')).toContain('josé.1@exämple.example');
  });
});

describe('report CSV files', () => {
  it('discrepancies.csv: fixed columns, account lists joined with ";", ISO 8601 UTC times', () => {
    const csv = discrepanciesCsv([
      {
        run_id: 'r1',
        group_id: 'g',
        policy: 'union',
        kind: 'missing',
        email_norm: '=cmd1@formula.example',
        present_in: ['a', 'b'],
        missing_from: ['c'],
        first_unsubscribed_at: '2025-01-02T03:04:05.000Z',
        evidence_idx: 0,
      },
      {
        run_id: 'r1',
        group_id: 'g',
        policy: 'union',
        kind: 'missing',
        email_norm: '<script>alert(1)</script>"\'&@xss.example',
        present_in: ['c'],
        missing_from: ['a', 'b'],
        first_unsubscribed_at: null,
        evidence_idx: 1,
      },
    ]);
    expect(lines(csv)[0]).toBe(DISCREPANCY_COLUMNS.join(','));
    expect(parse(csv, { columns: true })).toEqual([
      {
        run_id: 'r1',
        group_id: 'g',
        policy: 'union',
        kind: 'missing',
        email_norm: "'=cmd1@formula.example",
        present_in: 'a;b',
        missing_from: 'c',
        first_unsubscribed_at: '2025-01-02T03:04:05Z',
      },
      {
        run_id: 'r1',
        group_id: 'g',
        policy: 'union',
        kind: 'missing',
        email_norm: '<script>alert(1)</script>"\'&@xss.example',
        present_in: 'c',
        missing_from: 'a;b',
        first_unsubscribed_at: '',
      },
    ]);
  });

  it('summary.csv and rejects.csv: fixed columns in order', () => {
    const summary = summaryCsv([
      {
        run_id: 'r1',
        group_id: 'g',
        policy: 'mirror',
        kind: 'extra',
        present_account: 'b',
        missing_account: 'a',
        addresses: '3',
        present_total: '12',
        pct_of_present: 25,
      },
    ]);
    expect(lines(summary)[0]).toBe(SUMMARY_COLUMNS.join(','));
    expect(lines(summary)[1]).toBe('r1,g,mirror,extra,b,a,3,12,25');
    const rejects = rejectsCsv([
      { run_id: 'r0', account_id: 'a', raw_value: '@no-local-part.example', reason: 'empty_local_part' },
    ]);
    expect(lines(rejects)[0]).toBe(REJECT_COLUMNS.join(','));
    expect(lines(rejects)[1]).toBe(`r0,a,"'@no-local-part.example",empty_local_part`);
  });
});
