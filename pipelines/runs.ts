/** `unsub-recon runs`: the runs recorded in the warehouse, newest first. */
import { existsSync } from 'node:fs';
import { Warehouse } from '../extractors/core/warehouse.js';
import type { CommandContext } from './cli.js';
import { formatTable } from './output.js';

export async function listRuns(ctx: CommandContext, limit: number): Promise<void> {
  const config = ctx.config();
  if (!existsSync(config.warehouse)) {
    ctx.out.result(
      { status: 'ok', warehouse: config.warehouse, runs: [] },
      () => `no runs yet: ${config.warehouse} does not exist\n`,
    );
    return;
  }
  const warehouse = await Warehouse.open(config.warehouse, { mode: 'read', command: 'runs' });
  try {
    const runs = await warehouse.allJson(
      `SELECT run_id, command, status, started_at, finished_at, error
         FROM runs ORDER BY started_at DESC, run_id DESC LIMIT $limit`,
      { limit },
    );
    ctx.out.result({ status: 'ok', warehouse: config.warehouse, runs }, () =>
      runs.length === 0 ? `no runs yet in ${config.warehouse}\n` : formatTable(runs),
    );
  } finally {
    await warehouse.close();
  }
}
