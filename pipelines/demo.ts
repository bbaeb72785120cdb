/**
 * `unsub-recon demo`: the first thing a new user runs. Starts the sandbox (every provider
 * simulator with a generated scenario) in this process, runs a full extract of every account
 * into a fresh warehouse and the transforms, prints the summaries and what to try next, and stops
 * the simulators.
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../extractors/core/config.js';
import { extractCommand } from './extract.js';
import type { Output } from './output.js';
import { startSandbox } from './sandbox.js';
import { runTransform } from './transform.js';

export interface DemoOptions {
  dir: string;
  rows: number;
}

export async function demoCommand(options: DemoOptions, out: Output): Promise<void> {
  const dir = path.resolve(options.dir);
  // A demo always starts from an empty warehouse, so it shows a full extraction.
  rmSync(path.join(dir, 'warehouse.duckdb'), { force: true });
  rmSync(path.join(dir, 'warehouse.duckdb.wal'), { force: true });
  const sandbox = await startSandbox({ dir, rows: options.rows });
  try {
    out.note(
      `demo: ${sandbox.simulators.size} provider simulators on 127.0.0.1, ${options.rows} rows per account`,
    );
    const config = loadConfig(sandbox.configFile, { env: { ...process.env, ...sandbox.env } });
    await extractCommand(config, { full: true }, out);
    const { outcome } = await runTransform(config, {}, out);
    out.note(
      [
        '',
        `transform: ${outcome.suppressions} suppressions, ${outcome.rejects} rejects`,
        ...outcome.groups.map(
          (g) => `  group ${g.group_id}: ${g.discrepancies} discrepancies ${JSON.stringify(g.by_kind)}`,
        ),
      ].join('\n'),
    );
    const rel = path.relative(process.cwd(), dir) || dir;
    out.note(
      [
        '',
        `warehouse: ${config.warehouse}`,
        'next:',
        `  node bin/unsub-recon.js sandbox --dir ${rel}          # keep the simulators running, then in another shell:`,
        `  source ${rel}/sandbox.env`,
        `  node bin/unsub-recon.js --config ${rel}/unsub-recon.config.json extract   # incremental`,
        `  node bin/unsub-recon.js --config ${rel}/unsub-recon.config.json runs`,
        `  node bin/unsub-recon.js --warehouse ${rel}/warehouse.duckdb sql "SELECT group_id, kind, count(*) FROM discrepancies GROUP BY ALL"`,
      ].join('\n'),
    );
  } finally {
    await sandbox.close();
  }
}
