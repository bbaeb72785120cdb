/**
 * Writes one report: `<outDir>/<runId>/report/` with discrepancies.csv, summary.csv, rejects.csv
 * and index.html, from the warehouse's latest transform. The caller owns the run: the `report`
 * command begins its own (pipelines/report.ts), `nightly` passes the run it is in.
 *
 * The files are written into a hidden folder beside `report/` and renamed into place at the end,
 * so a failed report leaves no half-written folder; an existing `report/` is never overwritten.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../extractors/core/config.js';
import type { Warehouse } from '../extractors/core/warehouse.js';
import { discrepanciesCsv, rejectsCsv, summaryCsv } from './csv.js';
import { renderReportHtml } from './html.js';
import { buildReportModel, summariseConfig } from './model.js';
import { ReportError, readReportInputs } from './queries.js';

export { ReportError } from './queries.js';

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
    discrepancies: number;
    summaryRows: number;
    rejects: number;
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

  const inputs = await readReportInputs(
    warehouse,
    config.accounts.map((a) => a.id),
    groupId,
  );
  if (groupId !== undefined && !inputs.groups.some((g) => g.group_id === groupId)) {
    throw new ReportError(
      `group "${groupId}" was not part of transform run ${inputs.transformRun.run_id}: run \`unsub-recon transform\` with the current config first`,
    );
  }
  const model = buildReportModel(inputs, {
    reportRunId: runId,
    generatedAt: options.now ?? new Date(),
    groupFilter: groupId ?? null,
    warehouse: warehouse.file,
    config: summariseConfig(config),
  });

  mkdirSync(runDir, { recursive: true });
  const staging = path.join(runDir, `.report-${randomBytes(4).toString('hex')}.tmp`);
  mkdirSync(staging);
  try {
    writeFileSync(
      path.join(staging, REPORT_FILE_NAMES.discrepancies),
      discrepanciesCsv(inputs.discrepancies),
    );
    writeFileSync(path.join(staging, REPORT_FILE_NAMES.summary), summaryCsv(inputs.summary));
    writeFileSync(path.join(staging, REPORT_FILE_NAMES.rejects), rejectsCsv(inputs.rejects));
    writeFileSync(path.join(staging, REPORT_FILE_NAMES.html), renderReportHtml(model));
    renameSync(staging, reportDir);
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    throw error;
  }

  const files: ReportFiles = {
    discrepancies: path.join(reportDir, REPORT_FILE_NAMES.discrepancies),
    summary: path.join(reportDir, REPORT_FILE_NAMES.summary),
    rejects: path.join(reportDir, REPORT_FILE_NAMES.rejects),
    html: path.join(reportDir, REPORT_FILE_NAMES.html),
  };
  return {
    reportDir,
    files,
    transformRunId: inputs.transformRun.run_id,
    counts: {
      discrepancies: inputs.discrepancies.length,
      summaryRows: inputs.summary.length,
      rejects: inputs.rejects.length,
      groups: inputs.groups.length,
      allowedIncomplete: inputs.groups.filter((g) => g.allowed_incomplete).length,
      notDiffed: inputs.groups.filter((g) => !g.diffed).length,
    },
  };
}
