/** Pure parts of the SendCloud simulator: time frames, times, addresses (seed 002, provider notes §3–§6). */
import { describe, expect, it } from 'vitest';
import {
  formatTime,
  isValidEmail,
  parseExpireTime,
  parseTimeFrame,
} from '../../../../extractors/sendcloud/sim-protocol.js';

const t = (wall: string): number => Date.parse(`${wall.replace(' ', 'T')}+08:00`);

describe('parseTimeFrame', () => {
  it.each([
    // [startDate, endDate, accepted] — "3 months" = last day + 1 no later than first day + 3 calendar months
    ['2021-01-01', '2021-03-31', true],
    ['2021-01-01', '2021-04-01', false],
    ['2021-11-30', '2022-02-27', true], // Nov 30 + 3 months clamps to Feb 28
    ['2021-11-30', '2022-02-28', false],
    ['2024-02-29', '2024-05-28', true],
  ])('%s..%s accepted: %s', (startDate, endDate, accepted) => {
    const frame = parseTimeFrame({ startDate, endDate }, 0);
    expect(frame.ok).toBe(accepted);
    if (!frame.ok) expect(frame.error.statusCode).toBe(40099);
  });

  it('maps inclusive UTC+8 days to a half-open instant range', () => {
    expect(parseTimeFrame({ startDate: '2021-07-15', endDate: '2021-07-16' }, 0)).toEqual({
      ok: true,
      value: { fromMs: t('2021-07-15 00:00:00'), toMs: t('2021-07-17 00:00:00') },
    });
  });

  it('days counts UTC+8 calendar days ending today, even when UTC is still on yesterday', () => {
    const now = t('2021-07-20 03:00:00'); // 2021-07-19 19:00 UTC
    expect(parseTimeFrame({ days: '2' }, now)).toEqual({
      ok: true,
      value: { fromMs: t('2021-07-19 00:00:00'), toMs: t('2021-07-21 00:00:00') },
    });
  });

  it('dates win over days; nothing given is "no frame"', () => {
    expect(parseTimeFrame({ days: 'junk', startDate: '2021-07-15', endDate: '2021-07-15' }, 0).ok).toBe(true);
    expect(parseTimeFrame({}, 0)).toEqual({ ok: true, value: undefined });
  });
});

describe('times', () => {
  it('formats in UTC+8 with whole seconds', () => {
    expect(formatTime(Date.parse('2021-07-15T09:55:20.999Z'))).toBe('2021-07-15 17:55:20');
  });

  it.each([
    ['2021-07-01', '2021-07-01 00:00:00'],
    ['2021 07 01', '2021-07-01 00:00:00'],
    ['20210701', '2021-07-01 00:00:00'],
    ['2021-07-01 23:59:59', '2021-07-01 23:59:59'],
  ])('expireTime %s', (text, wall) => {
    expect(parseExpireTime(text)).toBe(t(wall));
  });

  it.each(['2021-02-30', '2021-07-01 24:00:00', '01/07/2021', ''])('expireTime %j is refused', (text) => {
    expect(parseExpireTime(text)).toBeUndefined();
  });
});

describe('isValidEmail', () => {
  it.each([
    ['a@example.com', true],
    ['用户@例子.中国', true],
    ['"a b@c"@example.com', true],
    ['a@b', false],
    ['a@@b.com', false],
    ['@b.com', false],
    ['a@', false],
    [' a@b.com', false],
    ['a b@c.com', false],
    ['a@b..com', false],
  ])('%s → %s', (email, valid) => {
    expect(isValidEmail(email)).toBe(valid);
  });
});
