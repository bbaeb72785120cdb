import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { toCsv } from '../../../pipelines/sql.js';

describe('sql --format csv (toCsv)', () => {
  it('quotes values holding a bare LF, a bare CR, a comma or a quote, so they read back exactly', () => {
    const rows = [
      { email: 'line\nbreak@example.com', note: 'a,b' },
      { email: 'carriage\rreturn@example.com', note: 'say "hi"' },
    ];
    const csv = toCsv(rows, ['email', 'note']);
    expect(csv.startsWith('email,note\r\n')).toBe(true);
    expect(csv).toContain('"line\nbreak@example.com"');
    expect(csv).toContain('"carriage\rreturn@example.com"');
    expect(parse(csv, { columns: true, record_delimiter: '\r\n' })).toEqual(rows);
  });
});
