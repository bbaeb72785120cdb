/**
 * `unsub-recon extract [--account ID]… [--full | --from DATE [--to DATE]]`: pull and stage the
 * configured accounts' unsubscribes, then print one summary row per account.
 *
 * Exit codes (through cli.ts): 0 when every account is complete; 1 when any is not (the run is
 * `partial`, or `failed` when none completed), after committing the accounts that completed.
 */
import cliProgress from 'cli-progress';
import type { AccountConfig, Config } from '../extractors/core/config.js';
import { UnsubReconError, UsageError } from '../extractors/core/errors.js';
import {
  type AccountExtraction,
  type ExtractEvent,
  type ExtractRequest,
  extractAccounts,
  resolveDate,
} from '../extractors/core/extract.js';
import { createRedactor } from '../extractors/core/redact.js';
import { configuredMemoryLimit, Warehouse } from '../extractors/core/warehouse.js';
import { PROVIDERS } from '../extractors/registry.js';
import { formatTable, type Output } from './output.js';

export interface ExtractCommandOptions {
  account?: string[];
  full?: boolean;
  from?: string;
  to?: string;
}

/** The run finished but some account did not complete: exit 1 after the summary. */
export class ExtractIncompleteError extends UnsubReconError {
  readonly code = 'EXTRACT_INCOMPLETE';
}

export function extractRequestFrom(options: ExtractCommandOptions): ExtractRequest {
  if (options.full && options.from)
    throw new UsageError(
      '--full and --from exclude each other: --full re-reads from each account\'s "since"',
    );
  if (options.to && !options.from) throw new UsageError('--to needs --from');
  if (options.from) {
    // Validate the text once, up front (the zone only moves the instant, not the validity).
    const from = resolveDateOrUsage('--from', options.from);
    if (options.to && resolveDateOrUsage('--to', options.to) <= from) {
      throw new UsageError(`--from ${options.from} is not before --to ${options.to}`);
    }
    return { mode: 'range', from: options.from, ...(options.to ? { to: options.to } : {}) };
  }
  return { mode: options.full ? 'full' : 'incremental' };
}

function resolveDateOrUsage(flag: string, text: string): number {
  try {
    return resolveDate(text, 'UTC');
  } catch (error) {
    throw new UsageError(`${flag}: ${(error as Error).message}`);
  }
}

export function selectAccounts(config: Config, ids: readonly string[] | undefined): AccountConfig[] {
  if (!ids || ids.length === 0) return config.accounts;
  return ids.map((id) => {
    const account = config.accounts.find((a) => a.id === id);
    if (!account) {
      throw new UsageError(
        `--account ${id}: no such account; expected one of ${config.accounts.map((a) => a.id).join(', ')}`,
      );
    }
    return account;
  });
}

export interface ExtractRunResult {
  runId: string;
  status: 'succeeded' | 'partial' | 'failed';
  accounts: AccountExtraction[];
}

/** Runs an extraction as its own run (the `extract` command); `nightly` reuses `extractInRun`. */
export async function runExtract(
  config: Config,
  options: ExtractCommandOptions,
  out: Output,
): Promise<ExtractRunResult> {
  const request = extractRequestFrom(options);
  const accounts = selectAccounts(config, options.account);
  const warehouse = await Warehouse.open(config.warehouse, { mode: 'write', command: 'extract' });
  try {
    for (const note of warehouse.notes) out.note(`unsub-recon: ${note}`);
    const runId = await warehouse.beginRun({ command: 'extract', args: { ...options } });
    let results: AccountExtraction[];
    try {
      results = await extractInRun(warehouse, runId, config, accounts, request, out);
    } catch (error) {
      await warehouse.finishRun(runId, 'failed', createRedactor(config.secrets)((error as Error).message));
      throw error;
    }
    const complete = results.filter((r) => r.status === 'complete').length;
    const status = complete === results.length ? 'succeeded' : complete === 0 ? 'failed' : 'partial';
    const notComplete = results.filter((r) => r.status !== 'complete');
    await warehouse.finishRun(
      runId,
      status,
      notComplete.length > 0 ? notComplete.map((r) => `${r.accountId}: ${r.error}`).join('; ') : undefined,
    );
    return { runId, status, accounts: results };
  } finally {
    await warehouse.close();
  }
}

export async function extractInRun(
  warehouse: Warehouse,
  runId: string,
  config: Config,
  accounts: readonly AccountConfig[],
  request: ExtractRequest,
  out: Output,
): Promise<AccountExtraction[]> {
  const progress = out.stderrIsTty && !out.quiet ? new ProgressBars() : null;
  try {
    // DuckDB keeps what staging appends in its buffer pool up to its limit (by default 80 % of
    // RAM), so without the heavy steps' limit the process grows with the rows read.
    return await warehouse.withSettings({ memoryLimit: configuredMemoryLimit() }, () =>
      extractAccounts({
        warehouse,
        runId,
        accounts,
        providers: PROVIDERS,
        request,
        redact: createRedactor(config.secrets),
        redactValues: createRedactor(config.secrets, { byName: false }),
        onEvent: (event) => {
          progress?.update(event);
          if (event.type === 'window-split')
            out.note(`${event.accountId}: window too large or too slow, split in two (${event.reason})`);
          if (event.type === 'window-failed' && !progress)
            out.note(`${event.accountId}: window failed: ${event.error}`);
        },
      }),
    );
  } finally {
    progress?.stop();
  }
}

/** One bar per account on stderr, only on a TTY (DESIGN.md "CLI contract"). */
class ProgressBars {
  private readonly multi = new cliProgress.MultiBar(
    {
      format: ' {account} [{bar}] {value}/{total} windows | {rows} rows',
      hideCursor: true,
      stream: process.stderr,
    },
    cliProgress.Presets.shades_classic,
  );
  private readonly bars = new Map<string, cliProgress.SingleBar>();

  update(event: ExtractEvent): void {
    if (event.type === 'account-start') {
      this.bars.set(
        event.accountId,
        this.multi.create(event.windows, 0, { account: event.accountId.padEnd(14), rows: 0 }),
      );
    } else if (event.type === 'window-done') {
      const bar = this.bars.get(event.accountId);
      bar?.setTotal(event.windowsTotal);
      bar?.update(event.windowsDone, { rows: event.rows });
    }
  }

  stop(): void {
    this.multi.stop();
  }
}

export function summaryRows(results: readonly AccountExtraction[]) {
  return results.map((r) => ({
    account: r.accountId,
    provider: r.provider,
    mode: r.mode,
    from: new Date(r.range.from).toISOString(),
    to: new Date(r.range.to).toISOString(),
    windows: r.windows,
    requests: r.requests,
    retries: r.retries,
    rows: r.rows,
    seconds: Number((r.durationMs / 1000).toFixed(2)),
    status: r.status,
    error: r.error,
  }));
}

export async function extractCommand(
  config: Config,
  options: ExtractCommandOptions,
  out: Output,
): Promise<void> {
  const result = await runExtract(config, options, out);
  const rows = summaryRows(result.accounts);
  out.result(
    { run_id: result.runId, status: result.status, warehouse: config.warehouse, accounts: rows },
    () =>
      [
        `run ${result.runId}: ${result.status}`,
        formatTable(
          rows.map(({ error: _error, from: _from, to: _to, ...row }) => row),
          ['account', 'provider', 'mode', 'windows', 'requests', 'retries', 'rows', 'seconds', 'status'],
        ),
      ].join('\n'),
  );
  const incomplete = result.accounts.filter((a) => a.status !== 'complete');
  if (incomplete.length > 0) {
    throw new ExtractIncompleteError(
      `${incomplete.length} of ${result.accounts.length} account(s) not complete (run ${result.runId} is ${result.status}): ` +
        incomplete.map((a) => `${a.accountId} ${a.status}: ${a.error}`).join('; '),
    );
  }
}
