#!/usr/bin/env node
// The published entry point runs the compiled CLI (`npm run build` writes dist/), so every
// invocation starts in ~0.1 s instead of paying a TypeScript loader on each call.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const compiled = new URL('../dist/pipelines/cli.js', import.meta.url);
if (!existsSync(fileURLToPath(compiled))) {
  process.stderr.write(
    'unsub-recon: dist/ is missing; run `npm ci && npm run build` (or `make install`) first.\n',
  );
  process.exit(2);
}
const { main } = await import(compiled.href);
process.exitCode = await main(process.argv);
