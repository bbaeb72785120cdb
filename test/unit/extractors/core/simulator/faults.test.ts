import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../../../extractors/core/errors.js';
import {
  FaultPlan,
  type FaultSpec,
  formatFault,
  parseFaults,
  type RequestKind,
} from '../../../../../extractors/core/simulator/index.js';

describe('parseFaults', () => {
  it.each<[string, FaultSpec[]]>([
    ['rate-limit:3', [{ kind: 'rate-limit', times: 3 }]],
    ['rate-limit/none', [{ kind: 'rate-limit', retryAfterSeconds: null }]],
    ['server-error/503@2+3', [{ kind: 'server-error', status: 503, requests: [2, 3] }]],
    ['latency/20', [{ kind: 'latency', delayMs: 20 }]],
    ['slow/5000%4#any', [{ kind: 'slow', delayMs: 5000, every: 4, on: 'any' }]],
    ['shrink/0.3@5', [{ kind: 'shrink', fraction: 0.3, requests: [5] }]],
    ['inband-error/temporary:2', [{ kind: 'inband-error', arg: 'temporary', times: 2 }]],
    [
      'rate-limit:3, server-error:2; drop-socket@1#write',
      [
        { kind: 'rate-limit', times: 3 },
        { kind: 'server-error', times: 2 },
        { kind: 'drop-socket', requests: [1], on: 'write' },
      ],
    ],
    ['', []],
  ])('%j', (text, specs) => {
    expect(parseFaults(text)).toEqual(specs);
    expect(parseFaults(specs.map(formatFault).join(','))).toEqual(specs); // round trip
  });

  it.each([
    'boom',
    'server-error/abc',
    'truncate/1.5',
    'rate-limit@0',
    'slow#sometimes',
    'latency:-1',
    'server-error/200',
  ])('rejects %j with a UsageError naming it', (text) => {
    expect(() => parseFaults(text)).toThrow(UsageError);
    expect(() => parseFaults(text)).toThrow(text.split(/[/:@%#]/)[0]!);
  });
});

describe('FaultPlan', () => {
  const run = (plan: FaultPlan, kinds: RequestKind[]) => kinds.map((k) => plan.next(k).kinds.join('+'));

  it('selects exactly the listed request numbers, counted within the class', () => {
    const plan = new FaultPlan('server-error@2+3');
    expect(run(plan, ['read', 'write', 'read', 'read', 'read', 'other'])).toEqual([
      '',
      '',
      'server-error',
      'server-error',
      '',
      '',
    ]);
  });

  it('applies every Nth, capped by times, and write-only specs to writes only', () => {
    const plan = new FaultPlan([
      { kind: 'slow', every: 2, times: 2 },
      { kind: 'drop-socket', on: 'write' },
    ]);
    expect(run(plan, ['read', 'read', 'write', 'read', 'read', 'read', 'read', 'write'])).toEqual([
      '',
      'slow',
      'drop-socket',
      '',
      'slow',
      '',
      '',
      'drop-socket',
    ]);
  });

  it('is deterministic, resets on set(), and shrinks once by default', () => {
    const plan = new FaultPlan('shrink,latency/5,rate-limit:1');
    const first = run(plan, ['read', 'other', 'read']);
    expect(first).toEqual(['shrink+latency+rate-limit', 'latency', 'latency']);
    plan.reset();
    expect(run(plan, ['read', 'other', 'read'])).toEqual(first);
    plan.set('');
    expect(run(plan, ['read'])).toEqual(['']);
    expect(plan.next('read').has('shrink')).toBe(false);
  });

  it('exposes the spec parameters of the chosen fault', () => {
    const active = new FaultPlan('server-error/502:1,server-error/503').next('read');
    expect(active.spec('server-error')?.status).toBe(502); // first matching spec wins
    expect(new FaultPlan('server-error/502:1,server-error/503').toString()).toBe(
      'server-error/502:1,server-error/503',
    );
  });
});
