// End-to-end tests drive the real CLI (`node bin/unsub-recon.js`), which runs the compiled
// dist/. Build once before any test so they never run a stale build.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  // Unit-only runs during development may skip the build (UNSUB_SKIP_BUILD=1); CI never does.
  if (process.env.UNSUB_SKIP_BUILD === '1' && process.env.CI !== 'true') return;
  const root = fileURLToPath(new URL('..', import.meta.url));
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], {
    cwd: root,
    stdio: 'inherit',
  });
}
