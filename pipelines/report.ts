/**
 * `unsub-recon report [--group ID] [--out DIR]`: the discrepancy report of the latest transform,
 * as CSV for machines and one self-contained HTML page for people (reports/). The command records
 * its own run in `runs` and writes into `<outDir>/<its run id>/report/`, so it never rewrites an
 * earlier run's folder; `outDir` comes from the config unless `--out` is given.
 */
import path from 'node:path';
import type { Config } from '../extractors/core/config.js';
import { UsageError } from '../extractors/core/errors.js';
import { createRedactor } from '../extractors/core/redact.js';
import { Warehouse } from '../extractors/core/warehouse.js';
import { type WriteReportResult, writeReport } from '../reports/index.js';
import { formatTable, type Output } from './output.js';

export interface ReportCommandOptions {
  group?: string;
  out?: string;
}

export async function reportCommand(
  config: Config,
  options: ReportCommandOptions,
  out: Output,
): Promise<void> {
  if (options.group !== undefined && !config.groups.some((g) => g.id === options.group)) {
    throw new UsageError(
      `--group: "${options.group}" is not a group in ${config.file}; expected one of ${config.groups.map((g) => g.id).join(', ') || '(none configured)'}`,
    );
  }
  const outDir = path.resolve(options.out ?? config.outDir);
  const redact = createRedactor(config.secrets);
  const warehouse = await Warehouse.open(config.warehouse, { mode: 'write', command: 'report' });
  try {
    for (const note of warehouse.notes) out.note(`unsub-recon: ${note}`);
    const runId = await warehouse.beginRun({
      command: 'report',
      args: { group: options.group ?? null, out: outDir },
    });
    let result: WriteReportResult;
    try {
      result = await writeReport({ warehouse, runId, outDir, config, groupId: options.group });
    } catch (error) {
      await warehouse.finishRun(
        runId,
        'failed',
        redact(error instanceof Error ? error.message : String(error)),
      );
      throw error;
    }
    await warehouse.finishRun(runId, 'succeeded');
    out.result(
      {
        run_id: runId,
        status: 'succeeded',
        transform_run_id: result.transformRunId,
        reportDir: result.reportDir,
        files: result.files,
        counts: result.counts,
      },
      () => humanSummary(runId, result),
    );
    const shown = htmlShownLine(result);
    if (shown !== null) out.note(`unsub-recon: ${shown}`);
    if (result.counts.allowedIncomplete > 0) {
      out.note(
        `unsub-recon: ${result.counts.allowedIncomplete} group(s) were diffed with --allow-incomplete; the report says so on every view`,
      );
    }
  } finally {
    await warehouse.close();
  }
}

/** What index.html leaves to the CSVs when it embeds only their first rows; null when nothing. */
function htmlShownLine(result: WriteReportResult): string | null {
  const { counts } = result;
  if (!counts.htmlTruncated) return null;
  const cut = [
    counts.htmlDiscrepancies < counts.discrepancies
      ? `the first ${counts.htmlDiscrepancies} of ${counts.discrepancies} discrepancies`
      : null,
    counts.htmlRejects < counts.rejects
      ? `the first ${counts.htmlRejects} of ${counts.rejects} rejects`
      : null,
  ].filter((part) => part !== null);
  return `index.html shows ${cut.join(' and ')}; discrepancies.csv and rejects.csv hold all of them`;
}

function humanSummary(runId: string, result: WriteReportResult): string {
  const { counts, files } = result;
  return [
    `report run ${runId} on transform run ${result.transformRunId}: ${counts.discrepancies} discrepancies in ${counts.groups} group(s), ${counts.rejects} rejects`,
    formatTable(
      [
        { file: 'index.html', path: files.html },
        { file: 'discrepancies.csv', path: files.discrepancies },
        { file: 'summary.csv', path: files.summary },
        { file: 'rejects.csv', path: files.rejects },
      ],
      ['file', 'path'],
    ),
  ].join('\n');
}
