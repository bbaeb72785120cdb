/**
 * Deterministic, per-account fault injection. A {@link FaultPlan} counts the account's requests
 * (per class: read, write, any) and decides for each one which faults apply; nothing is random,
 * so a test that says "the 2nd read gets a 503" gets exactly that, every run.
 *
 * Compact syntax (CLI `--faults`, scenario files), specs separated by `,` `;` or whitespace:
 *
 *     kind[/value][:times][@n+n+…][%every][#read|#write|#any]
 *
 *  - `/value`  per kind: rate-limit → Retry-After seconds (`none` = no header, default 1);
 *              server-error → status (default 500); slow, latency → delay ms (defaults 10000, 50);
 *              truncate, malformed, drop-socket, shrink → fraction kept/removed (default 0.5);
 *              provider kinds (inband-error, …) → free text in `arg`.
 *  - `:times`  at most this many requests get it (default unlimited; `shrink` defaults to 1).
 *  - `@2+3`    only these 1-based request numbers (counted within the `#` class).
 *  - `%every`  every Nth request of the class (N, 2N, …).
 *  - `#class`  which requests count and qualify: read (default), write, any (`latency` defaults
 *              to any).
 *
 * Examples: `rate-limit:3` (first 3 reads answer 429, Retry-After: 1), `server-error/503@2+3`,
 * `latency/20`, `slow/5000%4`, `drop-socket@1#write`, `shrink/0.3@5`, `inband-error/temporary:2`.
 */
import { UsageError } from '../errors.js';

export const FAULT_KINDS = [
  'rate-limit',
  'server-error',
  'drop-socket',
  'slow',
  'truncate',
  'malformed',
  'inband-error',
  'duplicate-row',
  'repeat-page',
  'empty-last-page',
  'shrink',
  'latency',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** Faults the kit applies itself; the others are flags the provider handler must honour. */
export const GENERIC_FAULT_KINDS: ReadonlySet<FaultKind> = new Set<FaultKind>([
  'rate-limit',
  'server-error',
  'drop-socket',
  'slow',
  'truncate',
  'malformed',
  'shrink',
  'latency',
]);

/** How the simulator classified a request (its `classify` option; default 'read'). */
export type RequestKind = 'read' | 'write' | 'other';

export interface FaultSpec {
  readonly kind: FaultKind;
  /** Which requests count and qualify. Default 'read' ('any' for latency); 'other' only via 'any'. */
  readonly on?: 'read' | 'write' | 'any';
  /** 1-based numbers (within the `on` class, per account) that get the fault. */
  readonly requests?: readonly number[];
  /** Every Nth request of the class. Ignored when `requests` is given. */
  readonly every?: number;
  /** Cap on how many requests get it. Default unlimited (shrink: 1). */
  readonly times?: number;
  /** server-error status. Default 500. */
  readonly status?: number;
  /** rate-limit / server-error Retry-After seconds; null = no header. rate-limit default 1. */
  readonly retryAfterSeconds?: number | null;
  /** slow: delay before headers (default 10 000); latency: added per request (default 50). */
  readonly delayMs?: number;
  /** truncate/malformed/drop-socket: part of the body sent (default 0.5); shrink: part removed. */
  readonly fraction?: number;
  /** Free parameter for provider-specific kinds (e.g. which in-band error). */
  readonly arg?: string;
}

/** The faults chosen for one request. */
export interface ActiveFaults {
  readonly kinds: readonly FaultKind[];
  has(kind: FaultKind): boolean;
  /** The spec that selected this kind (first one wins), for its parameters. */
  spec(kind: FaultKind): FaultSpec | undefined;
}

export const NO_FAULTS: ActiveFaults = Object.freeze({
  kinds: [],
  has: () => false,
  spec: () => undefined,
});

export const DEFAULT_SLOW_MS = 10_000;
export const DEFAULT_LATENCY_MS = 50;
export const DEFAULT_FRACTION = 0.5;

const defaultOn = (kind: FaultKind): 'read' | 'write' | 'any' => (kind === 'latency' ? 'any' : 'read');

export class FaultPlan {
  private specs: FaultSpec[] = [];
  private applied: number[] = [];
  private counters = { read: 0, write: 0, any: 0 };

  constructor(specs: string | readonly FaultSpec[] = []) {
    this.set(specs);
  }

  /** Replaces the specs and restarts request counting. Throws UsageError on a bad spec. */
  set(specs: string | readonly FaultSpec[]): void {
    this.specs = (typeof specs === 'string' ? parseFaults(specs) : specs).map(validateFault);
    this.reset();
  }

  /** Restarts request counting (and `times` budgets) without changing the specs. */
  reset(): void {
    this.applied = this.specs.map(() => 0);
    this.counters = { read: 0, write: 0, any: 0 };
  }

  list(): readonly FaultSpec[] {
    return this.specs;
  }

  /** Counts one request of this kind and returns the faults it gets. */
  next(kind: RequestKind): ActiveFaults {
    this.counters.any++;
    if (kind !== 'other') this.counters[kind]++;
    const chosen = new Map<FaultKind, FaultSpec>();
    this.specs.forEach((spec, s) => {
      const on = spec.on ?? defaultOn(spec.kind);
      if (on !== 'any' && on !== kind) return;
      const n = this.counters[on];
      const selected = spec.requests ? spec.requests.includes(n) : spec.every ? n % spec.every === 0 : true;
      const times = spec.times ?? (spec.kind === 'shrink' ? 1 : Number.POSITIVE_INFINITY);
      if (!selected || (this.applied[s] ?? 0) >= times) return;
      this.applied[s] = (this.applied[s] ?? 0) + 1;
      if (!chosen.has(spec.kind)) chosen.set(spec.kind, spec);
    });
    if (chosen.size === 0) return NO_FAULTS;
    const kinds = [...chosen.keys()];
    return { kinds, has: (k) => chosen.has(k), spec: (k) => chosen.get(k) };
  }

  /** The specs in compact syntax. */
  toString(): string {
    return this.specs.map(formatFault).join(',');
  }
}

const isKind = (s: string): s is FaultKind => (FAULT_KINDS as readonly string[]).includes(s);

/** Parses the compact syntax (see module doc). Throws UsageError naming the bad spec. */
export function parseFaults(text: string): FaultSpec[] {
  const specs: FaultSpec[] = [];
  for (const token of text.split(/[\s,;]+/).filter((t) => t.length > 0)) {
    const match = /^([a-z-]+)((?:[/:@%#][^/:@%#]*)*)$/.exec(token);
    const kind = match?.[1] ?? '';
    const bad = (why: string) =>
      new UsageError(
        `fault "${token}": ${why}; expected kind[/value][:times][@n+n][%every][#read|write|any] ` +
          `with kind one of ${FAULT_KINDS.join(', ')}`,
      );
    if (!match || !isKind(kind)) throw bad('unknown kind');
    const spec: { -readonly [K in keyof FaultSpec]: FaultSpec[K] } = { kind };
    for (const part of (match[2] ?? '').match(/[/:@%#][^/:@%#]*/g) ?? []) {
      const sigil = part[0];
      const value = part.slice(1);
      const int = (): number => {
        if (!/^\d+$/.test(value)) throw bad(`"${part}" needs a whole number`);
        return Number(value);
      };
      if (sigil === ':') spec.times = int();
      else if (sigil === '%') spec.every = int();
      else if (sigil === '@') {
        spec.requests = value.split('+').map((n) => {
          if (!/^\d+$/.test(n) || Number(n) < 1)
            throw bad(`"${part}" needs request numbers >= 1 joined by +`);
          return Number(n);
        });
      } else if (sigil === '#') {
        if (value !== 'read' && value !== 'write' && value !== 'any')
          throw bad(`"${part}" must be read|write|any`);
        spec.on = value;
      } else {
        switch (kind) {
          case 'rate-limit':
            spec.retryAfterSeconds = value === 'none' ? null : int();
            break;
          case 'server-error':
            spec.status = int();
            break;
          case 'slow':
          case 'latency':
            spec.delayMs = int();
            break;
          case 'truncate':
          case 'malformed':
          case 'drop-socket':
          case 'shrink': {
            const f = Number(value);
            if (value === '' || !(f >= 0 && f <= 1)) throw bad(`"${part}" needs a fraction in [0, 1]`);
            spec.fraction = f;
            break;
          }
          default:
            spec.arg = value;
        }
      }
    }
    specs.push(validateFault(spec, token));
  }
  return specs;
}

/** One spec in compact syntax (inverse of {@link parseFaults} for the fields it covers). */
export function formatFault(spec: FaultSpec): string {
  let out: string = spec.kind;
  const value =
    spec.kind === 'rate-limit' && spec.retryAfterSeconds !== undefined
      ? (spec.retryAfterSeconds ?? 'none')
      : (spec.status ?? spec.delayMs ?? spec.fraction ?? spec.arg);
  if (value !== undefined) out += `/${value}`;
  if (spec.times !== undefined) out += `:${spec.times}`;
  if (spec.requests) out += `@${spec.requests.join('+')}`;
  if (spec.every !== undefined) out += `%${spec.every}`;
  if (spec.on !== undefined) out += `#${spec.on}`;
  return out;
}

function validateFault(spec: FaultSpec, token: string | number = formatFault(spec)): FaultSpec {
  const fail = (why: string): never => {
    throw new UsageError(`fault "${typeof token === 'string' ? token : spec.kind}": ${why}`);
  };
  if (!isKind(spec.kind)) fail('unknown kind');
  if (spec.every !== undefined && !(Number.isInteger(spec.every) && spec.every >= 1))
    fail('every must be >= 1');
  if (spec.times !== undefined && !(Number.isInteger(spec.times) && spec.times >= 0))
    fail('times must be >= 0');
  if (spec.requests?.some((n) => !(Number.isInteger(n) && n >= 1))) fail('request numbers must be >= 1');
  if (
    spec.status !== undefined &&
    !(Number.isInteger(spec.status) && spec.status >= 400 && spec.status <= 599)
  )
    fail('status must be 400-599');
  if (spec.fraction !== undefined && !(spec.fraction >= 0 && spec.fraction <= 1))
    fail('fraction must be in [0, 1]');
  if (spec.delayMs !== undefined && !(spec.delayMs >= 0)) fail('delayMs must be >= 0');
  return spec;
}
