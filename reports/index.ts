/**
 * Writes one report: `<outDir>/<runId>/report/` with discrepancies.csv, summary.csv, rejects.csv
 * and index.html, from the warehouse's latest transform. The caller owns the run: the `report`
 * command begins its own (pipelines/report.ts), `nightly` passes the run it is in.
 *
 * The files are written into a hidden folder beside `report/` and renamed into place at the end,
 * so a failed report leaves no half-written folder; an existing `report/` is never overwritten.
 *
 * Memory does not grow with the number of discrepancies: the CSVs are streamed from DuckDB a
 * chunk at a time to the file, and the page embeds at most `htmlLimit` rows of each table (with
 * the evidence of those addresses only) and says so when it leaves rows to the CSVs.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../extractors/core/config.js';
import type { Warehouse } from '../extractors/core/warehouse.js';
import { writeNewFile } from '../extractors/core/write-file.js';
import {
  DISCREPANCY_COLUMNS,
  discrepancyCells,
  REJECT_COLUMNS,
  rejectCells,
  summaryCsv,
  writeReportCsv,
} from './csv.js';
import { reportHtmlPieces } from './html.js';
import { buildReportModel, summariseConfig } from './model.js';
import { HTML_DISCREPANCY_LIMIT, ReportError, withReportSession } from './queries.js';

export { HTML_DISCREPANCY_LIMIT, ReportError } from './queries.js';

export interface WriteReportOptions {
  /** An open warehouse (write mode when the caller records a run in it; read mode works too). */
  warehouse: Warehouse;
  /** The run this report belongs to: names the folder and is shown on the page. */
  runId: string;
  /** Runs folder: the report goes to `<outDir>/<runId>/report/`. */
  outDir: string;
  /** For the page's config summary (never credentials) and the group check. */
  config: Pick<Config, 'accounts' | 'groups' | 'secrets'>;
  /** Only this group (its discrepancies, summary, and its members' rejects and completeness). */
  groupId?: string | undefined;
  /** The time shown as "generated" (default now). */
  now?: Date;
  /**
   * Rows of each table (discrepancies, rejects) index.html embeds at most, the first in the
   * CSVs' order (default {@link HTML_DISCREPANCY_LIMIT}); the CSVs always hold every row.
   */
  htmlLimit?: number;
}

export interface ReportFiles {
  discrepancies: string;
  summary: string;
  rejects: string;
  html: string;
}

export interface WriteReportResult {
  /** Absolute path of `<outDir>/<runId>/report`. */
  reportDir: string;
  files: ReportFiles;
  /** The transform (or nightly) run whose results were reported. */
  transformRunId: string;
  counts: {
    /** Rows of discrepancies.csv: every discrepancy (a SQL count, checked against the rows written). */
    discrepancies: number;
    summaryRows: number;
    /** Rows of rejects.csv. */
    rejects: number;
    /** Discrepancies index.html shows: the first of discrepancies.csv, at most `htmlLimit`. */
    htmlDiscrepancies: number;
    /** Rejects index.html shows, at most `htmlLimit`. */
    htmlRejects: number;
    /** index.html leaves some discrepancies or rejects to the CSVs (and says so on every view). */
    htmlTruncated: boolean;
    groups: number;
    /** Groups diffed despite an incomplete member (`--allow-incomplete`): the page shows a banner. */
    allowedIncomplete: number;
    /** Groups the completeness gate kept from being diffed. */
    notDiffed: number;
  };
}

export const REPORT_FILE_NAMES = {
  discrepancies: 'discrepancies.csv',
  summary: 'summary.csv',
  rejects: 'rejects.csv',
  html: 'index.html',
} as const satisfies ReportFiles;

/**
 * Reads the latest transform's results and writes the four report files.
 * @throws ReportError nothing to report yet (no transform), `<outDir>/<runId>/report` exists, or
 *   the group is not in the config.
 * @throws WarehouseError a query failed.
 */
export async function writeReport(options: WriteReportOptions): Promise<WriteReportResult> {
  const { warehouse, runId, config, groupId } = options;
  if (groupId !== undefined && !config.groups.some((g) => g.id === groupId)) {
    throw new ReportError(
      `group "${groupId}" is not in the config; expected one of ${config.groups.map((g) => g.id).join(', ') || '(no groups configured)'}`,
    );
  }
  const runDir = path.resolve(options.outDir, runId);
  const reportDir = path.join(runDir, 'report');
  if (existsSync(reportDir)) {
    throw new ReportError(`${reportDir} already exists; a run's report is written once`);
  }

  const accountIds = config.accounts.map((a) => a.id);
  const queryOptions = { htmlLimit: options.htmlLimit ?? HTML_DISCREPANCY_LIMIT };
  return withReportSession(warehouse, accountIds, groupId, queryOptions, async (session) => {
    const { inputs } = session;
    if (groupId !== undefined && !inputs.groups.some((g) => g.group_id === groupId)) {
      throw new ReportError(
        `group "${groupId}" was not part of transform run ${inputs.transformRun.run_id}: run \`unsub-recon transform\` with the current config first`,
      );
    }
    const files: ReportFiles = {
      discrepancies: path.join(reportDir, REPORT_FILE_NAMES.discrepancies),
      summary: path.join(reportDir, REPORT_FILE_NAMES.summary),
      rejects: path.join(reportDir, REPORT_FILE_NAMES.rejects),
      html: path.join(reportDir, REPORT_FILE_NAMES.html),
    };

    mkdirSync(runDir, { recursive: true });
    const staging = path.join(runDir, `.report-${randomBytes(4).toString('hex')}.tmp`);
    mkdirSync(staging);
    try {
      const discrepancyRows = await writeReportCsv(
        path.join(staging, REPORT_FILE_NAMES.discrepancies),
        DISCREPANCY_COLUMNS,
        mapBatches(session.discrepancyBatches(), discrepancyCells),
      );
      const rejectRows = await writeReportCsv(
        path.join(staging, REPORT_FILE_NAMES.rejects),
        REJECT_COLUMNS,
        mapBatches(session.rejectBatches(), rejectCells),
      );
      if (discrepancyRows !== inputs.totals.discrepancies || rejectRows !== inputs.totals.rejects) {
        throw new ReportError(
          `warehouse ${warehouse.file} changed while the report was written: counted ${inputs.totals.discrepancies} discrepancies and ${inputs.totals.rejects} rejects, wrote ${discrepancyRows} and ${rejectRows}; run \`unsub-recon report\` again`,
        );
      }
      writeFileSync(path.join(staging, REPORT_FILE_NAMES.summary), summaryCsv(inputs.summary));
      const model = buildReportModel(inputs, {
        reportRunId: runId,
        generatedAt: options.now ?? new Date(),
        groupFilter: groupId ?? null,
        warehouse: warehouse.file,
        config: summariseConfig(config),
      });
      await writeNewFile(path.join(staging, REPORT_FILE_NAMES.html), reportHtmlPieces(model));
      renameSync(staging, reportDir);
    } catch (error) {
      rmSync(staging, { recursive: true, force: true });
      throw error;
    }

    return {
      reportDir,
      files,
      transformRunId: inputs.transformRun.run_id,
      counts: {
        discrepancies: inputs.totals.discrepancies,
        summaryRows: inputs.summary.length,
        rejects: inputs.totals.rejects,
        htmlDiscrepancies: inputs.discrepancies.length,
        htmlRejects: inputs.rejects.length,
        htmlTruncated:
          inputs.discrepancies.length < inputs.totals.discrepancies ||
          inputs.rejects.length < inputs.totals.rejects,
        groups: inputs.groups.length,
        allowedIncomplete: inputs.groups.filter((g) => g.allowed_incomplete).length,
        notDiffed: inputs.groups.filter((g) => !g.diffed).length,
      },
    };
  });
}

async function* mapBatches<T, U>(batches: AsyncIterable<T[]>, map: (item: T) => U): AsyncGenerator<U[]> {
  for await (const batch of batches) yield batch.map(map);
}
