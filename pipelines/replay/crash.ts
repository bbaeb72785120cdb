/**
 * Test hook for the crash-safety tests: with `UNSUB_RECON_CRASH_AT=<point>:<n>` in the
 * environment, the process sends itself SIGKILL (a real `kill -9`: no handler, no cleanup, no
 * flush) the n-th time it reaches `<point>`. Unset — the default — it does nothing.
 *
 * Points, in the order one item passes them (README "Crash-test hook"):
 *   begun      the replay run is recorded, nothing read or sent yet
 *   rechecked  an in-doubt item's re-read is journaled ('confirmed'), before the next one
 *   journaled  a batch's 'sending' rows are committed, its request not yet sent
 *   answered   the provider answered, the answer not yet journaled
 *   recorded   the answer is journaled
 *   verify     every batch is done, the verifying re-extraction not yet started
 *
 * A deterministic point is what lets a test kill at 20+ distinct places and compare each
 * resumed run with an uninterrupted one; a timer-based kill could not say where it landed.
 */
export const CRASH_ENV = 'UNSUB_RECON_CRASH_AT';

export const CRASH_POINTS = ['begun', 'rechecked', 'journaled', 'answered', 'recorded', 'verify'] as const;
export type CrashPoint = (typeof CRASH_POINTS)[number];

const reached = new Map<CrashPoint, number>();

/** Kills this process with SIGKILL when `UNSUB_RECON_CRASH_AT` names this point and count. */
export function crashPoint(point: CrashPoint): void {
  const spec = process.env[CRASH_ENV];
  if (spec === undefined || spec === '') return;
  const [name, nth = '1'] = spec.split(':');
  if (name !== point) return;
  const count = (reached.get(point) ?? 0) + 1;
  reached.set(point, count);
  if (count === Number(nth)) process.kill(process.pid, 'SIGKILL');
}
