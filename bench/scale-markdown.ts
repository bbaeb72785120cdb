/**
 * The "scale" section of bench/RESULTS.md from the figures bench/scale.ts measured: setup, one
 * row per size, each stage against its limit, growth from the first to the last size, and the
 * note on what breaks first beyond one machine. Every number comes from the figures; the prose
 * around them is fixed.
 */
import { mib } from './results.js';
import type { SizeFigures } from './scale.js';

export interface ScaleSetup {
  seed: number;
  leftOut: string;
  rateLimit: { requestsPerSecond: number; concurrency: number };
  memoryLimit: string;
}

/** The nightly's steps that run without --apply-adds or a webhook, in order. */
const STEPS = ['extract', 'transform', 'report', 'plan'] as const;
/** The config's pace when an account sets none (extractors/core/config.ts). */
const DEFAULT_REQUESTS_PER_SECOND = 5;
/** sendgrid-v3's simulated budget (extractors/sendgrid-v3/simulator.ts) and its page size. */
const V3_REQUESTS_PER_SECOND = 600 / 60;
const V3_PAGE_ROWS = 500;

type Measured = SizeFigures & {
  limits: NonNullable<SizeFigures['limits']>;
  nightly: { summary: NonNullable<SizeFigures['nightly']['summary']> };
};

const n = (v: number) => v.toLocaleString('en-US');
const s = (seconds: number) => `${seconds.toFixed(1)} s`;
const ratio = (ours: number, limit: number) => (limit > 0 ? (ours / limit).toFixed(2) : '—');
const gib = (bytes: number) => `${(bytes / 2 ** 30).toFixed(2)} GiB`;
const duration = (seconds: number) =>
  seconds >= 3600 ? `${(seconds / 3600).toFixed(1)} h` : `${(seconds / 60).toFixed(1)} min`;
const rss = (bytes: number | null) => (bytes ? mib(bytes) : 'n/a');

/** The fastest of the finished rounds; 0 when no round finished. */
const fastest = (seconds: readonly number[] | undefined) =>
  seconds && seconds.length > 0 ? Math.min(...seconds) : 0;

/** A step's wall time in its fastest finished round (the one round's, if none finished). */
function stepSeconds(f: SizeFigures, step: string): number {
  return fastest(f.rounds.steps[step]) || (f.nightly.steps.find((x) => x.step === step)?.seconds ?? 0);
}

const stepCpu = (f: SizeFigures, step: string) => fastest(f.rounds.cpu[step]);

/** Each limit's time in its fastest round. */
const limitSeconds = (f: SizeFigures, limit: 'fetch' | 'load' | 'diff') => fastest(f.rounds[limit]);

/** ", rounds: a, b, c" when there was more than one. */
const roundList = (seconds: readonly number[] | undefined) =>
  seconds && seconds.length > 1 ? `; rounds ${seconds.map(s).join(', ')}` : '';

const measured = (sizes: readonly SizeFigures[]): Measured[] =>
  sizes.filter((f): f is Measured => f.limits !== null && f.nightly.summary !== null);

function setupText(sizes: readonly SizeFigures[], setup: ScaleSetup): string {
  const accounts = sizes[0]!.accounts;
  return `Sandbox scenario \`mixed\` (seed ${setup.seed}, \`startSandbox\`): every provider's simulator on 127.0.0.1 in the
benchmark's process; ${accounts.length} accounts (${accounts.map((a) => `\`${a}\``).join(', ')}) with the scenario's hard
cases (quoted local parts, spacing and case variants, NFC/NFD, invalid addresses, rows at local
midnight in five zones, SendCloud expiries and second labels, WhatCounts list-level opt-outs) and
its two groups (a union of all five, a mirror sg-reseller → sc-main). The sandbox has six accounts;
the issue's five are the five seeded providers. The sixth, ${setup.leftOut}, is left out of the measured config
(its simulator runs unused): the simulator enforces a budget of 600 requests a minute and pages hold
500 rows, so 1,000,000 rows take 2,000 requests = 200 s of waiting whatever the pipeline does, which
would swamp the stage figures. Each account reads with concurrency ${setup.rateLimit.concurrency} and a rate limit the
simulators never reach (${n(setup.rateLimit.requestsPerSecond)} requests/s): the figures are the pipeline's, not a pacing.

**Ours** is the compiled CLI in a child process exactly as cron runs it:
\`node bin/unsub-recon.js --config scale.config.json nightly --full --json\` on an empty warehouse
(every account read in full from its \`since\`), the credentials in its
environment as the sandbox's \`sandbox.env\` exports them, the transform's DuckDB memory limit
${setup.memoryLimit}. Step times are the nightly's own (\`steps\` of its summary, also in \`run.log\`); total is the
child's wall time, start-up included. Peak RSS is the kernel's high-water mark \`VmHWM\` of the child
(DuckDB runs inside it), read from \`/proc/<pid>/status\` every 100 ms until it exits; per step, the
highest \`VmRSS\` sampled between the step's \`step-start\` and \`step-done\` in \`run.log\` (RSS does
not shrink between steps, so a later step can show an earlier one's memory). A single nightly varies by up
to a third from run to run, and one stage by more than its growth's distance from linear, so every
size runs the same number of rounds (env \`BENCH_SCALE_ROUNDS\`, default 3), each with its limits,
the sizes taking turns (smallest to largest, then again) so that the machine's drift over the hour
the benchmark takes is not read as growth.
Each stage and each limit is the fastest of its rounds (every round's time is listed beside it), at
every size alike, so growth compares the fastest with the fastest; the whole-run figures (total,
peak RSS, RSS per step, the per-account table) are those of the round with the fastest total. CPU
is the child's user + system time over all its threads (DuckDB's included) while the step ran, from
\`/proc/<pid>/stat\` sampled with the memory: on two cores a stage's wall time also holds waiting
(for the simulators, which run in the benchmark's process, and for disk), its CPU time only work.`;
}

function stepCell(f: SizeFigures, step: string): string {
  const figure = f.nightly.steps.find((x) => x.step === step);
  if (!figure) return '—';
  if (figure.status === 'skipped') return 'skipped';
  if (figure.status !== 'ok')
    return `**${figure.status}** after ${s(figure.seconds)} (${rss(figure.peakRss)})`;
  const cpu = stepCpu(f, step);
  return `${s(stepSeconds(f, step))} (CPU ${cpu ? s(cpu) : 'n/a'}; ${rss(figure.peakRss)}${roundList(f.rounds.steps[step])})`;
}

function sizeTable(sizes: readonly SizeFigures[]): string {
  const rows = sizes.map((f) => {
    const summary = f.nightly.summary;
    const staged = summary ? n(summary.rows) : '—';
    const diffed = f.nightly.steps.some((st) => st.step === 'transform' && st.status === 'ok');
    const found = summary && diffed ? n(summary.discrepancies) : '—';
    const rounds = f.roundTotals.length > 1 ? ` (rounds ${f.roundTotals.map(s).join(', ')})` : '';
    return `| ${n(f.rowsPerAccount)} | ${staged} | ${found} | **${s(f.nightly.process.seconds)}**${rounds} | ${STEPS.map((st) => stepCell(f, st)).join(' | ')} | **${rss(f.nightly.process.peakRss)}** | ${gib(f.nightly.warehouseBytes)} | ${f.nightly.reportBytes ? mib(f.nightly.reportBytes) : '—'} |`;
  });
  const failures = sizes
    .filter((f) => f.nightly.failure !== null)
    .map((f) => `\n**${n(f.rowsPerAccount)} rows per account: the nightly failed** — ${f.nightly.failure}`);
  return `| rows/account | raw rows staged | discrepancies | total | ${STEPS.map((st) => `${st} (CPU; peak RSS in it)`).join(' | ')} | peak RSS (VmHWM) | warehouse file | report index.html |
|---|---|---|---|${STEPS.map(() => '---').join('|')}|---|---|---|
${rows.join('\n')}${failures.join('\n')}`;
}

function limitTable(sizes: readonly Measured[]): string {
  const lines: string[] = [];
  for (const f of sizes) {
    const { summary } = f.nightly;
    const { fetch, load, diff } = f.limits;
    const extract = stepSeconds(f, 'extract');
    const transform = stepSeconds(f, 'transform');
    const [fetchSeconds, loadSeconds, diffSeconds] = [
      limitSeconds(f, 'fetch'),
      limitSeconds(f, 'load'),
      limitSeconds(f, 'diff'),
    ];
    const fetchAndLoad = fetchSeconds + loadSeconds;
    const requests = summary.accounts.reduce((sum, a) => sum + a.requests, 0);
    const retries = summary.accounts.reduce((sum, a) => sum + a.retries, 0);
    const kinds = diff.byKind.map((k) => `${k.group_id} ${k.kind} ${n(Number(k.hand))}`).join(', ');
    const size = n(f.rowsPerAccount);
    lines.push(
      `| ${size} | extract (fetch, parse, stage) | ${s(extract)} | bare undici loop: the same ${n(fetch.requests)} requests (${n(fetch.retries)} sent again after a reset socket; the nightly made ${n(requests)}, ${n(retries)} retries), ${mib(fetch.bytes)} read (the nightly: ${mib(f.limits.pipelineBytes)}), answers discarded${roundList(f.rounds.fetch)} | ${s(fetchSeconds)} | **${ratio(extract, fetchSeconds)}** |`,
      `| ${size} | extract | ${s(extract)} | that loop + DuckDB \`read_json\` loading the same ${n(load.rows)} rows (${mib(load.fileBytes)} of NDJSON) into \`stage_raw_rows\` (${s(loadSeconds)}${roundList(f.rounds.load)}) | ${s(fetchAndLoad)} | **${ratio(extract, fetchAndLoad)}** |`,
      `| ${size} | transform (every table, audits, publish) | ${s(transform)} | one hand-written statement: the same ${n(diff.rows)} discrepancies (${kinds}) from the staged rows, equal to the view row for row${roundList(f.rounds.diff)} | ${s(diffSeconds)} | **${ratio(transform, diffSeconds)}** |`,
    );
  }
  return `| rows/account | stage | ours | limit, same run, same data | limit time | ours / limit |
|---|---|---|---|---|---|
${lines.join('\n')}`;
}

/** Per account: where extraction time goes, ours against the bare loop. */
function accountTable(f: Measured): string {
  const rows = f.nightly.summary.accounts.map((a) => {
    const bare = f.limits.fetch.byAccount[a.account];
    return `| ${a.account} | ${a.provider} | ${n(a.windows)} | ${n(a.requests)} | ${n(a.rows)} | ${bare ? mib(bare.bytes) : '—'} | ${s(a.seconds)} | ${bare ? s(bare.seconds) : '—'} | ${bare ? ratio(a.seconds, bare.seconds) : '—'} |`;
  });
  return `Extraction per account at ${n(f.rowsPerAccount)} rows per account (all at once, as the nightly runs them):

| account | provider | windows | requests | raw rows | answers | ours | bare loop | ours / bare |
|---|---|---|---|---|---|---|---|---|
${rows.join('\n')}`;
}

function growthTable(sizes: readonly Measured[]): string {
  if (sizes.length < 2) return '_Growth needs two sizes whose nightly finished (BENCH_SCALE_SIZES)._';
  const first = sizes[0]!;
  const last = sizes.at(-1)!;
  const rowsRatio = last.nightly.summary.rows / first.nightly.summary.rows;
  const line = (stage: string, a: number, b: number, cpu?: readonly [number, number]) => {
    const perRow = b / a / rowsRatio;
    const excess = (perRow - 1) * 100;
    // one significant digit below 1 %, so a hair above linear never reads "+0 %"
    const shown = excess < 1 ? excess.toPrecision(1) : excess.toFixed(0);
    const verdict = perRow <= 1 ? 'met' : `not met (+${shown} % per row)`;
    const cpuCell = cpu && cpu[0] > 0 ? `${s(cpu[0])} → ${s(cpu[1])}: ×${(cpu[1] / cpu[0]).toFixed(2)}` : '—';
    return `| ${stage} | ${s(a)} → ${s(b)} | ×${(b / a).toFixed(2)} | ×${rowsRatio.toFixed(2)} | ${perRow.toFixed(2)} | ${verdict} | ${cpuCell} |`;
  };
  const limit = (pick: (f: Measured) => number) => [pick(first), pick(last)] as const;
  return `Growth from ${n(first.rowsPerAccount)} to ${n(last.rowsPerAccount)} rows per account (target: no worse than linear, time × ≤ rows ×):

| stage | time | time × | rows × | per-row ratio | no worse than linear | CPU time × |
|---|---|---|---|---|---|---|
${[
  ...STEPS.map((st) =>
    line(st, stepSeconds(first, st), stepSeconds(last, st), [stepCpu(first, st), stepCpu(last, st)]),
  ),
  line('total (wall)', first.nightly.process.seconds, last.nightly.process.seconds),
  line('limit: bare fetch', ...limit((f) => limitSeconds(f, 'fetch'))),
  line('limit: read_json load', ...limit((f) => limitSeconds(f, 'load'))),
  line('limit: hand-written diff', ...limit((f) => limitSeconds(f, 'diff'))),
].join('\n')}`;
}

function rateBullet(f: Measured): string {
  const busiest = [...f.nightly.summary.accounts].sort((a, b) => b.requests - a.requests)[0]!;
  const paced = busiest.requests / DEFAULT_REQUESTS_PER_SECOND;
  return `**Provider rate limits.** At the config's default pace (${DEFAULT_REQUESTS_PER_SECOND} requests/s per account) the
   busiest account at ${n(f.rowsPerAccount)} rows, ${busiest.account} (${busiest.provider}, ${n(busiest.requests)} requests), takes ${duration(paced)} to read in
   full — ${(paced / f.nightly.process.seconds).toFixed(1)}× that whole nightly against the unpaced simulators — and sendgrid-v3's
   simulated budget (600 requests/minute, ${V3_PAGE_ROWS}-row pages) ${duration(f.rowsPerAccount / V3_PAGE_ROWS / V3_REQUESTS_PER_SECOND)} for one account of that size.
   Accounts are read in parallel, so more accounts add little wall time, but one big account is
   bounded by its own provider's budget, which a second machine does not raise (a full read is paid
   once; nightly runs are incremental).`;
}

function machineBullet(f: SizeFigures, growth: Measured[]): string {
  const total = STEPS.reduce((sum, st) => sum + stepSeconds(f, st), 0);
  const shares = [...STEPS]
    .sort((a, b) => stepSeconds(f, b) - stepSeconds(f, a))
    .map((st) => `${st} ${((100 * stepSeconds(f, st)) / total).toFixed(0)} %`);
  const peak = [...f.nightly.steps].sort((a, b) => (b.peakRss ?? 0) - (a.peakRss ?? 0))[0];
  let fastest = '';
  if (growth.length >= 2) {
    const [a, b] = [growth[0]!, growth.at(-1)!];
    const rows = b.nightly.summary.rows / a.nightly.summary.rows;
    const perRow = (st: string) => stepSeconds(b, st) / stepSeconds(a, st) / rows;
    const top = [...STEPS].sort((x, y) => perRow(y) - perRow(x))[0]!;
    fastest = `; growing fastest per row: ${top} (per-row ratio ${perRow(top).toFixed(2)})`;
  }
  const staged = f.nightly.summary?.rows;
  return `**The one machine: one DuckDB file, one writer, one process's memory.** At ${n(f.rowsPerAccount)} rows per account
   the steps took ${shares.join(', ')} of their time${fastest}. Every step works on one warehouse
   file under one writer lock, so a second machine cannot take a share of it. Peak RSS ${rss(f.nightly.process.peakRss)}${peak?.peakRss ? `, highest during ${peak.step} (${rss(peak.peakRss)})` : ''}:
   the transform's DuckDB aggregations spill to \`<warehouse>.tmp\` beyond the memory limit, but what the
   process holds in JavaScript does not. Disk: the warehouse file is ${gib(f.nightly.warehouseBytes)}${staged ? ` (${(f.nightly.warehouseBytes / staged).toFixed(0)} bytes per raw row, request log and derived tables included)` : ''}, plus spills.`;
}

function reportBullet(f: Measured): string {
  return `**The HTML report** embeds at most 100,000 rows per table (the size the "report" section proves a browser
   draws in time) and says so on the page: of ${n(f.nightly.summary.discrepancies)} discrepancies its \`index.html\` is ${mib(f.nightly.reportBytes)};
   the CSVs beside it hold every row and are streamed from DuckDB, so the report does not hold them in memory.`;
}

function breaksFirst(sizes: readonly SizeFigures[], ok: readonly Measured[]): string {
  const last = sizes.at(-1)!;
  const lastOk = ok.at(-1);
  const bullets: string[] = [];
  if (last.nightly.failure !== null) {
    bullets.push(
      `**This machine, first: at ${n(last.rowsPerAccount)} rows per account the nightly did not finish** (${last.nightly.failure}).`,
      machineBullet(last, [...ok]),
    );
    if (lastOk) bullets.push(rateBullet(lastOk));
  } else if (lastOk) {
    const busiest = Math.max(...lastOk.nightly.summary.accounts.map((a) => a.requests));
    const rateFirst = busiest / DEFAULT_REQUESTS_PER_SECOND > lastOk.nightly.process.seconds;
    bullets.push(
      ...(rateFirst
        ? [rateBullet(lastOk), machineBullet(last, [...ok])]
        : [machineBullet(last, [...ok]), rateBullet(lastOk)]),
    );
  }
  if (lastOk) bullets.push(reportBullet(lastOk));
  return `**What breaks first beyond one machine**, in order, from the figures above:

${bullets.map((b, i) => `${i + 1}. ${b}`).join('\n')}`;
}

function handOver(ok: readonly Measured[]): string {
  const f = ok.at(-1);
  const measuredExport = f
    ? `wrote every contract view of the ${n(f.rowsPerAccount)}-row warehouse in ${s(f.limits.parquet.seconds)} (${mib(f.limits.parquet.bytes)} of Parquet,
${f.limits.parquet.rawRowsFiles} account folders under \`raw_rows/\`)`
    : 'was not measured (no nightly finished)';
  return `**Handing the data to a distributed engine.** \`unsub-recon export --format parquet --out DIR\` ${measuredExport}.
The big views — \`raw_rows\`, \`requests\`, \`suppressions\`, \`suppression_sources\`,
\`suppression_events\` — are Hive-style partitions (\`raw_rows/account_id=<id>/data_0.parquet\`), the
small views single files; timestamps are UTC \`TIMESTAMP(MICROS)\`, JSON columns UTF-8 strings. Spark
reads the folders as they are (\`spark.read.parquet(DIR + "/raw_rows")\`, \`account_id\` restored from
the folder names), Trino through the Hive connector (external tables partitioned by \`account_id\`),
each account's files read by different workers. The diff is a group-by per address with one bit per
member (bench/scale-diff.sql), which distributes by address; what would need porting is
DuckDB-specific: the address rules (\`transforms/012_email_rules.sql\`), the providers' time formats and
the zone conversion. The export is written to a hidden folder and moved into place when complete, so
a reader never sees half of it.`;
}

export function scaleMarkdown(sizes: readonly SizeFigures[], setup: ScaleSetup): string {
  const ok = measured(sizes);
  const limits =
    ok.length > 0
      ? `${limitTable(ok)}

${accountTable(ok.at(-1)!)}`
      : '_No nightly finished: no limit was measured._';
  return `## Scale: \`nightly\` end to end on the sandbox (${sizes[0]!.accounts.length} accounts × ${sizes.map((f) => n(f.rowsPerAccount)).join(' and ')} rows)

${setupText(sizes, setup)}

${sizeTable(sizes)}

Each stage against its limit, measured after the nightly in the same run on the same data (the
simulators stay up for the bare fetch, which runs in its own process as the pipeline does). The
extract stage interleaves fetching, parsing and staging on its workers, so it is compared with the
bare fetch alone and with the bare fetch plus DuckDB's own load one after the other. The hand-written
diff runs under the same memory limit (${setup.memoryLimit}) and computes only the discrepancies; the transform
also builds suppressions, rejects, events, lineage and the per-pair summary and runs the audits.
Report and plan have no limit here (sections "report" and "replay").

${limits}

${growthTable(ok)}

${breaksFirst(sizes, ok)}

${handOver(ok)}

Sizes: env \`BENCH_SCALE_SIZES\` (rows per account, default \`1000000,5000000\`).`;
}
