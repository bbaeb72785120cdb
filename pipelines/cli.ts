/**
 * The `unsub-recon` command line. Parses arguments (commander), runs one flow, and is the
 * only place that turns error classes into exit codes:
 *   0 ok · 1 failure · 2 usage or config error · 3 discrepancies found (--fail-on-discrepancy)
 */
import { existsSync, readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { type Config, DEFAULT_CONFIG_FILE, loadConfig } from '../extractors/core/config.js';
import {
  ConfigError,
  isUnsubReconError,
  ReadOnlyViolationError,
  UsageError,
  WindowError,
} from '../extractors/core/errors.js';
import { createRedactor } from '../extractors/core/redact.js';
import { auditCommand } from './audit.js';
import { configCheck } from './config-check.js';
import { demoCommand } from './demo.js';
import { exportCommand } from './export.js';
import { extractCommand } from './extract.js';
import { migrateCommand } from './migrate.js';
import { nightlyCommand } from './nightly.js';
import { Output } from './output.js';
import { planCommand } from './plan.js';
import { replayCommand } from './replay.js';
import { reportCommand } from './report.js';
import { listRuns, pruneCommand } from './runs.js';
import { sandboxCommand } from './sandbox.js';
import { sqlCommand } from './sql.js';
import { transformCommand } from './transform.js';

export const EXIT = { ok: 0, failure: 1, usage: 2, discrepancies: 3 } as const;

export interface GlobalOptions {
  config: string;
  warehouse?: string;
  json: boolean;
  quiet: boolean;
}

/** What every command receives: parsed global flags, the output sink and a config loader. */
export interface CommandContext {
  options: GlobalOptions;
  out: Output;
  config(): Config;
}

const packageVersion = (): string => {
  // dist/pipelines/cli.js when built; pipelines/cli.ts when a test imports the source.
  const file = ['../../package.json', '../package.json']
    .map((relative) => new URL(relative, import.meta.url))
    .find((url) => existsSync(url))!;
  const pkg = JSON.parse(readFileSync(file, 'utf8')) as { version: string };
  return pkg.version;
};

export function exitCodeFor(error: unknown): number {
  if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
  if (error instanceof ConfigError || error instanceof UsageError || error instanceof WindowError)
    return EXIT.usage;
  // `sql` refused a statement that is not a single read: bad input, like a usage error.
  if (error instanceof ReadOnlyViolationError) return EXIT.usage;
  if (isUnsubReconError(error) && 'exitCode' in error && typeof error.exitCode === 'number')
    return error.exitCode;
  return EXIT.failure;
}

function buildProgram(
  run: (action: (ctx: CommandContext) => Promise<void> | void) => Promise<void>,
): Command {
  const program = new Command('unsub-recon')
    .description('Extract, reconcile and repair email unsubscribe lists across providers.')
    .version(packageVersion(), '--version', 'print the version and exit')
    .option('--config <file>', 'config file (JSON)', DEFAULT_CONFIG_FILE)
    .option('--warehouse <file>', "DuckDB warehouse file (overrides the config's warehouse)")
    .option('--json', 'print one JSON object on stdout instead of tables', false)
    .option('--quiet', 'no progress or notes on stderr', false)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();

  const config = program
    .command('config')
    .description('work with the config file')
    .addHelpText('after', '\nExample:\n  unsub-recon config check --config unsub-recon.config.json');
  config
    .command('check')
    .description('validate the config and print the accounts and groups it defines (never secrets)')
    .addHelpText(
      'after',
      '\nExamples:\n  unsub-recon --config examples/unsub-recon.config.json config check\n  unsub-recon config check --json',
    )
    .action(() => run((ctx) => configCheck(ctx.config(), ctx.out)));

  program
    .command('runs')
    .description('list runs recorded in the warehouse, newest first')
    .addOption(
      new Option('--limit <n>', 'how many runs to show').default(20).argParser(positiveInt('--limit')),
    )
    .addOption(
      new Option(
        '--keep <n>',
        'first remove run directories (reports, patches, logs) beyond the newest N; the warehouse is never touched',
      ).argParser(wholeNumber('--keep')),
    )
    .addHelpText(
      'after',
      '\nExamples:\n  unsub-recon runs\n  unsub-recon runs --limit 5 --json\n  unsub-recon runs --keep 30',
    )
    .action((opts: { limit: number; keep?: number }) => run((ctx) => listRuns(ctx, opts)));

  // --- nightly / prune (operations) ---
  program
    .command('nightly')
    .description(
      'the scheduled job in one run: incremental extract of every account → transform → report → plan',
    )
    .option('--full', "extract every account's whole history from its `since` (as `extract --full`)")
    .option('--fail-on-discrepancy', 'exit 3 when discrepancies remain (and the run was otherwise clean)')
    .option('--apply-adds', 'replay the planned add patches (never deletes) and verify them')
    .addHelpText(
      'after',
      '\nExamples:\n  unsub-recon nightly\n  unsub-recon nightly --fail-on-discrepancy --json\n  unsub-recon nightly --full   # re-read every account in full\n  unsub-recon --config /etc/unsub-recon.json nightly --apply-adds --quiet\n\nWrites <outDir>/<run id>/: report/, patches/, run.log (JSON lines), summary.json, manifest.json.\nExit codes: 0 clean; 1 a step failed, an account or group is incomplete, or notify failed;\n3 with --fail-on-discrepancy when discrepancies remain.',
    )
    .action((opts: { failOnDiscrepancy?: boolean; applyAdds?: boolean; full?: boolean }) =>
      run((ctx) => nightlyCommand(ctx.config(), opts, ctx.out)),
    );

  program
    .command('prune')
    .description(
      'remove old run directories under outDir, keeping the newest N; the warehouse is never touched',
    )
    .addOption(
      new Option('--keep <n>', 'run directories to keep (0: all but runs in progress)')
        .default(30)
        .argParser(wholeNumber('--keep')),
    )
    .option('--dry-run', 'list what would be removed, remove nothing')
    .addHelpText(
      'after',
      '\nExamples:\n  unsub-recon prune --keep 30\n  unsub-recon prune --keep 7 --dry-run --json',
    )
    .action((opts: { keep: number; dryRun?: boolean }) => run((ctx) => pruneCommand(ctx, opts)));
  // --- end nightly / prune ---

  program
    .command('extract')
    .description(
      "pull every configured account's unsubscribes through its API and stage them in the warehouse",
    )
    .option('--account <id...>', 'only these accounts (repeatable)')
    .option(
      '--full',
      "re-read each account's whole history from its `since` (only a full read can show removals)",
    )
    .option(
      '--from <date>',
      "start of a range: YYYY-MM-DD (local midnight in each account's zone) or an ISO instant",
    )
    .option('--to <date>', 'end of the range, exclusive (default now)')
    .addHelpText(
      'after',
      '\nExamples:\n  unsub-recon extract                      # incremental: from each watermark minus lookback\n  unsub-recon extract --full --account sc-main\n  unsub-recon extract --from 2024-01-01 --to 2024-07-01 --json\n\nExit codes: 0 every account complete; 1 some account failed or incomplete (the others are committed).',
    )
    .action((opts: { account?: string[]; full?: boolean; from?: string; to?: string }) =>
      run((ctx) => extractCommand(ctx.config(), opts, ctx.out)),
    );

  program
    .command('transform')
    .description(
      'rebuild suppressions, rejects and discrepancies from committed runs (one transaction, audited)',
    )
    .option(
      '--allow-incomplete',
      "diff groups even when a member's latest extraction is incomplete (default: skip them and exit 1)",
    )
    .addHelpText(
      'after',
      "\nExamples:\n  unsub-recon transform\n  unsub-recon transform --json\n  unsub-recon transform --allow-incomplete\n\nExit codes: 0 every group diffed; 1 a group was not diffed because a member's latest extraction is incomplete (named), or a transform/audit failed (nothing changed).",
    )
    .action((opts: { allowIncomplete?: boolean }) =>
      run((ctx) => transformCommand(ctx.config(), opts, ctx.out)),
    );

  program
    .command('demo')
    .description(
      'start the simulators with a generated scenario, run the nightly job, a dry-run replay and an audit on them, and print where the report is',
    )
    .addOption(
      new Option('--rows <n>', 'rows per simulated account').default(1000).argParser(positiveInt('--rows')),
    )
    .option('--dir <dir>', 'where the demo config, warehouse and runs go', 'data/demo')
    .addHelpText('after', '\nExamples:\n  unsub-recon demo\n  unsub-recon demo --rows 20000 --json')
    .action((opts: { rows: number; dir: string }) => run((ctx) => demoCommand(opts, ctx.out)));

  program
    .command('sandbox')
    .description(
      'start every provider simulator on 127.0.0.1 with a generated scenario, and write a config for them',
    )
    .addOption(
      new Option(
        '--port <n>',
        'first port (simulators take consecutive ports); default: free ports',
      ).argParser(portNumber),
    )
    .option('--scenario <name>', 'scenario to generate (mixed, small)', 'mixed')
    .addOption(
      new Option('--rows <n>', 'rows per account, 100 to 5000000')
        .default(1000)
        .argParser(positiveInt('--rows')),
    )
    .addOption(new Option('--seed <n>', 'scenario seed').default(1).argParser(positiveInt('--seed')))
    .option(
      '--faults <specs...>',
      'faults for every account ("rate-limit:2,server-error/503@3") or one ("sc-main=slow/5000:1")',
    )
    .option('--dir <dir>', 'where the config, warehouse and runs go', 'data/sandbox')
    .addHelpText(
      'after',
      '\nExamples:\n  unsub-recon sandbox\n  unsub-recon sandbox --rows 100000 --faults "rate-limit:2" --dir /tmp/sbx\n  source data/sandbox/sandbox.env && unsub-recon --config data/sandbox/unsub-recon.config.json config check',
    )
    .action(
      (opts: {
        port?: number;
        scenario: string;
        rows: number;
        seed: number;
        faults?: string[];
        dir: string;
      }) => run((ctx) => sandboxCommand(opts, ctx.out)),
    );

  // --- sql / export (read-only analyst commands) ---
  const warehouseOf = (ctx: CommandContext): string => ctx.options.warehouse ?? ctx.config().warehouse;
  program
    .command('sql')
    .description('run one read-only query (SELECT, EXPLAIN, DESCRIBE, SHOW) on the warehouse')
    .argument('<query>', 'the SQL query, quoted as one argument')
    .addOption(
      new Option('--format <format>', 'output format (default table; json with --json)').choices([
        'table',
        'csv',
        'json',
      ]),
    )
    .addHelpText(
      'after',
      `\nExamples:\n  unsub-recon sql "SELECT account_id, count(*) AS n FROM raw_rows GROUP BY ALL ORDER BY n DESC"\n  unsub-recon sql "SELECT * FROM runs" --format csv > runs.csv\n  unsub-recon sql "DESCRIBE requests" --format json\n\nThe warehouse is opened read-only with file and network access off: any other statement\n(INSERT, DROP, COPY, ATTACH, SET, …), several statements, or reading a file is refused with\nSQL_READ_ONLY and exit 2. --format json prints a JSON array of row objects.`,
    )
    .action((query: string, opts: { format?: string }) =>
      run((ctx) => sqlCommand(warehouseOf(ctx), query, opts, ctx.out)),
    );

  program
    .command('export')
    .description('write every warehouse contract view as Parquet files (Spark, Trino, DuckDB, pandas)')
    .addOption(new Option('--format <format>', 'file format').choices(['parquet']).default('parquet'))
    .option('--out <dir>', 'folder to write; must be empty or new unless --overwrite')
    .option('--overwrite', 'replace the exported views in a non-empty --out folder', false)
    .addHelpText(
      'after',
      '\nExamples:\n  unsub-recon export --format parquet --out data/export\n  unsub-recon export --out /shared/unsub --overwrite --json\n\nLayout: <view>.parquet, or <view>/account_id=<id>/*.parquet for raw_rows, requests,\nsuppressions and suppression_events (Hive partitions).',
    )
    .action((opts: { format: string; out?: string; overwrite: boolean }) =>
      run(async (ctx) => {
        await exportCommand(warehouseOf(ctx), opts, ctx.out);
      }),
    );
  // --- end sql / export ---

  // --- audit (read-only: where an address stands in every account, with evidence) ---
  program
    .command('audit')
    .description(
      'show, account by account, whether addresses are suppressed, with the raw rows, requests and events behind it',
    )
    .argument('<email...>', 'one or more addresses (normalised: case and surrounding space do not matter)')
    .addOption(
      new Option('--format <format>', 'output format (default table; json with --json)').choices([
        'table',
        'csv',
        'json',
      ]),
    )
    .addHelpText(
      'after',
      '\nExamples:\n  unsub-recon audit jane@example.com\n  unsub-recon audit " Jane@Example.COM " bob@example.org --format json\n  unsub-recon audit jane@example.com --format csv > jane.csv\n  unsub-recon audit --format json -- -odd@example.com   # an address starting with -\n\nOne row per configured account (per scope where held). The warehouse is opened read-only.\nExit codes: 0 some account holds some address; 1 none does (AUDIT_NOT_FOUND).',
    )
    .action((emails: string[], opts: { format?: string }) =>
      run((ctx) => auditCommand(ctx.config(), emails, opts, ctx.out)),
    );
  // --- end audit ---

  // --- report (CSV + self-contained HTML of the latest transform) ---
  program
    .command('report')
    .description(
      'write the discrepancy report of the latest transform: discrepancies.csv, summary.csv, rejects.csv, index.html',
    )
    .option('--group <id>', "only this group (its discrepancies, and its members' rejects and completeness)")
    .option('--out <dir>', "runs folder to write into (default: the config's outDir)")
    .addHelpText(
      'after',
      '\nExamples:\n  unsub-recon report\n  unsub-recon report --group all-brands --out /srv/reports --json\n\nWrites <outDir>/<run id>/report/ (a new run id each time). The HTML page opens from disk and works offline.',
    )
    .action((opts: { group?: string; out?: string }) =>
      run((ctx) => reportCommand(ctx.config(), opts, ctx.out)),
    );
  // --- end report ---

  // --- plan / replay / migrate (patch files and controlled replay) ---
  program
    .command('plan')
    .description("write patch files for groups' policies from the last transform (adds; mirror deletes)")
    .requiredOption('--group <id...>', 'group(s) to plan (repeatable)')
    .option('--target <account...>', 'only these member accounts (repeatable)')
    .option(
      '--delete-foreign',
      'mirror groups: also delete entries unsub-recon did not add (default: only its own)',
    )
    .option('--force <group...>', 'plan these groups despite the delete-safety refusals')
    .addHelpText(
      'after',
      '\nExamples:\n  unsub-recon plan --group all-brands\n  unsub-recon plan --group sg-to-sc --target sc-main --json\n  unsub-recon plan --group sg-to-sc --delete-foreign --force sg-to-sc\n\nWrites <outDir>/<run id>/patches/<group>/<target>.<add|delete|manual>.csv and manifest.json.\nExit codes: 0 planned; 1 a group refused (too many deletes, a shrunken source, no usable diff: numbers in the message).',
    )
    .action((opts: { group: string[]; target?: string[]; deleteForeign?: boolean; force?: string[] }) =>
      run((ctx) => planCommand(ctx.config(), opts, ctx.out)),
    );

  program
    .command('replay')
    .description('send a patch folder (dry run unless --apply), journal every item, then verify')
    .argument('<path>', 'patch folder holding manifest.json (or the manifest itself)')
    .option('--apply', 'really send (default: dry run, nothing sent)', false)
    .option('--allow-deletes', 'send the delete files too (never without it)', false)
    .addOption(
      new Option(
        '--concurrency <n>',
        "write calls in flight per account (at most the account's rateLimit.concurrency)",
      ).argParser(positiveInt('--concurrency')),
    )
    .addOption(
      new Option('--max-ops <n>', 'send at most N rows in this run (the rest on the next run)').argParser(
        positiveInt('--max-ops'),
      ),
    )
    .addHelpText(
      'after',
      '\nExamples:\n  unsub-recon replay data/runs/20260101T020000Z-a1b2c3/patches/all-brands\n  unsub-recon replay data/runs/20260101T020000Z-a1b2c3/patches/all-brands --apply --json\n  unsub-recon replay data/runs/20260101T020000Z-a1b2c3/patches/sg-to-sc --apply --allow-deletes --max-ops 500\n\nRe-running the same command after a crash sends only what was not done (nothing twice).\nExit codes: 0 all rows done and every target converged; 1 a row failed, a target did not converge,\nor the manifest was refused (PATCH_INVALID: a changed file or an unknown account; nothing sent).',
    )
    .action(
      (
        location: string,
        opts: { apply: boolean; allowDeletes: boolean; concurrency?: number; maxOps?: number },
      ) => run((ctx) => replayCommand(ctx.config(), location, opts, ctx.out)),
    );

  program
    .command('migrate')
    .description(
      "move one account's opt-outs to another: full extract of both → diff → plan adds → replay → verify",
    )
    .requiredOption('--from <account>', 'the account whose opt-outs are copied')
    .requiredOption('--to <account>', 'the account that receives them')
    .option('--apply', 'really send (default: dry run)', false)
    .addOption(
      new Option(
        '--concurrency <n>',
        "write calls in flight (at most the target's rateLimit.concurrency)",
      ).argParser(positiveInt('--concurrency')),
    )
    .addHelpText(
      'after',
      '\nExamples:\n  unsub-recon migrate --from sg-reseller --to sc-main\n  unsub-recon migrate --from sg-reseller --to sc-main --apply --json\n\nOnly adds, never deletes. Exit codes: 0 dry run shown, or applied and converged; 1 an extraction\nwas incomplete, a row failed or the target did not converge; 2 bad arguments.',
    )
    .action((opts: { from: string; to: string; apply: boolean; concurrency?: number }) =>
      run((ctx) => migrateCommand(ctx.config(), opts, ctx.out)),
    );
  // --- end plan / replay / migrate ---

  // Global flags work before or after the command name (`config check --json`): commander's
  // default. exitOverride() above is inherited by every command created after it.
  return program;
}

function portNumber(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new UsageError(`--port: got "${value}", expected 0 to 65535`);
  return n;
}

function wholeNumber(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(n))
      throw new UsageError(`${flag}: got "${value}", expected a whole number ≥ 0`);
    return n;
  };
}

function positiveInt(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1)
      throw new UsageError(`${flag}: got "${value}", expected a whole number ≥ 1`);
    return n;
  };
}

/**
 * Parses a command line (the words after `unsub-recon`) exactly as `main` does, without running
 * the command: for tests that check every command the README shows. Returns the command's path
 * (`['config', 'check']`).
 * @throws CommanderError or UsageError, as `main` would report them (exit 2).
 */
export async function parseCommandLine(args: readonly string[]): Promise<string[]> {
  const invoked: string[] = [];
  const program = buildProgram(async () => undefined);
  const silence = (command: Command): void => {
    command.configureOutput({ writeOut: () => undefined, writeErr: () => undefined });
    for (const sub of command.commands) silence(sub);
  };
  silence(program);
  program.hook('preAction', (_root, command) => {
    for (let c: Command | null = command; c?.parent; c = c.parent) invoked.unshift(c.name());
  });
  await program.parseAsync(['node', 'unsub-recon', ...args]);
  return invoked;
}

/** Runs the CLI with `argv` (as process.argv) and returns the exit code; never calls process.exit. */
export async function main(argv: string[]): Promise<number> {
  let exitCode: number = EXIT.ok;
  let out = new Output({ json: argv.includes('--json'), quiet: argv.includes('--quiet') });
  let redact = (text: string) => text;

  const run = async (action: (ctx: CommandContext) => Promise<void> | void): Promise<void> => {
    const options = program.opts<GlobalOptions>();
    out = new Output({ json: options.json, quiet: options.quiet });
    let loaded: Config | undefined;
    const ctx: CommandContext = {
      options,
      out,
      config: () => {
        loaded ??= loadConfig(options.config, options.warehouse ? { warehouse: options.warehouse } : {});
        redact = createRedactor(loaded.secrets);
        return loaded;
      },
    };
    await action(ctx);
  };

  const program = buildProgram(run);
  program.configureOutput({
    writeOut: (s) => process.stdout.write(s),
    writeErr: (s) => process.stderr.write(s),
  });
  try {
    await program.parseAsync(argv);
  } catch (error) {
    exitCode = exitCodeFor(error);
    if (error instanceof CommanderError) return exitCode;
    reportError(out, error, redact);
  }
  return exitCode;
}

function reportError(out: Output, error: unknown, redact: (s: string) => string): void {
  const code = isUnsubReconError(error) ? error.code : 'INTERNAL';
  const message = redact(error instanceof Error ? error.message : String(error));
  out.error(`unsub-recon: ${code}: ${message}`);
  if (code === 'INTERNAL' && error instanceof Error && error.stack && process.env.UNSUB_RECON_DEBUG) {
    out.error(redact(error.stack));
  }
  if (out.json && !out.hasResult) out.result({ status: 'error', error: { code, message } }, () => '');
}
