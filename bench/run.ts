/**
 * `make bench`: runs every benchmark (or those named on the command line), prints the figures and
 * rewrites their sections of bench/RESULTS.md.
 */
import { demo } from './demo.js';
import { extraction } from './extraction.js';
import { replay } from './replay.js';
import { report } from './report.js';
import { scale } from './scale.js';
import { simulatorMemory } from './simulator-memory.js';
import { staging } from './staging.js';
import { transform } from './transform.js';

const BENCHMARKS: Record<string, () => Promise<string>> = {
  'simulator-memory': simulatorMemory,
  staging,
  extraction,
  transform,
  report,
  replay,
  demo,
  scale,
};

const wanted = process.argv.slice(2);
for (const name of wanted) {
  if (!(name in BENCHMARKS)) {
    process.stderr.write(
      `unknown benchmark "${name}"; expected one of ${Object.keys(BENCHMARKS).join(', ')}\n`,
    );
    process.exit(2);
  }
}
for (const [name, run] of Object.entries(BENCHMARKS)) {
  if (wanted.length > 0 && !wanted.includes(name)) continue;
  process.stdout.write(`\n== ${name}\n`);
  process.stdout.write(`${await run()}\n`);
}
