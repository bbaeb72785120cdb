/**
 * `unsub-recon sandbox`: every provider simulator on 127.0.0.1, loaded with a generated
 * scenario, plus a config file pointing at them — what a new user runs to try the tool, and what
 * the demo, the end-to-end tests and the benchmarks start.
 *
 * The config refers to credentials as `env:` references only; their values (simulator-only
 * secrets) are printed as `export` lines and written to `sandbox.env` (mode 0600) for scripts.
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type AccountConfig, parseConfig } from '../extractors/core/config.js';
import { UsageError } from '../extractors/core/errors.js';
import type { RunningSimulator } from '../extractors/core/provider.js';
import {
  generateScenario,
  type Scenario,
  type ScenarioAccount,
} from '../extractors/core/scenario/generate.js';
import { GeneratedStore, parseFaults } from '../extractors/core/simulator/index.js';
import { SIMULATORS } from '../extractors/registry.js';
import { formatTable, type Output } from './output.js';

export interface SandboxOptions {
  /** Scenario name (default 'mixed'), seed (default 1), rows per account (default 1,000). */
  scenario?: string;
  seed?: number;
  rows?: number;
  /** End of the scenario's history, epoch ms (default now). */
  now?: number;
  /** First port; simulators take consecutive ports from it. Default: free ports. */
  port?: number;
  /** Fault specs: `SPECS` for every account or `ACCOUNT=SPECS` for one (kit syntax). */
  faults?: readonly string[];
  /** Where the config, warehouse and runs go (default data/sandbox). */
  dir?: string;
}

export interface Sandbox {
  scenario: Scenario;
  dir: string;
  configFile: string;
  envFile: string;
  /** Environment variables the config's `env:` references need. */
  env: Record<string, string>;
  simulators: Map<string, RunningSimulator>;
  close(): Promise<void>;
}

/** The environment variable that carries one credential of one sandbox account. */
export function envName(accountId: string, field: string): string {
  return `SANDBOX_${accountId}_${field}`.toUpperCase().replace(/[^A-Z0-9]+/g, '_');
}

/** Starts the simulators and writes the config. Throws UsageError for bad options. */
export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  let scenario: Scenario;
  try {
    scenario = generateScenario({
      ...(options.scenario ? { name: options.scenario } : {}),
      ...(options.seed !== undefined ? { seed: options.seed } : {}),
      ...(options.rows !== undefined ? { rows: options.rows } : {}),
      ...(options.now !== undefined ? { now: options.now } : {}),
    });
  } catch (error) {
    throw new UsageError(`sandbox: ${(error as Error).message}`);
  }
  const faults = faultsByAccount(options.faults ?? [], scenario);
  const dir = path.resolve(options.dir ?? 'data/sandbox');
  const simulators = new Map<string, RunningSimulator>();
  try {
    let port = options.port;
    for (const account of scenario.accounts) {
      const simulator = await SIMULATORS[account.provider]({
        ...(port !== undefined ? { port: port++ } : {}),
        accounts: [scenarioSimAccount(account, faults.get(account.id))],
      });
      simulators.set(account.id, simulator);
    }
  } catch (error) {
    await Promise.all([...simulators.values()].map((s) => s.close()));
    throw error;
  }

  const env: Record<string, string> = {};
  const config = {
    warehouse: 'warehouse.duckdb',
    outDir: 'runs',
    accounts: scenario.accounts.map((account) => {
      const credentials: Record<string, string> = {};
      for (const [field, value] of Object.entries(account.credentials)) {
        const name = envName(account.id, field);
        env[name] = value;
        credentials[field] = `env:${name}`;
      }
      // Simulators on loopback answer in microseconds; keep the demo quick but still paced.
      return scenarioConfigEntry(account, simulators.get(account.id)!.url, {
        credentials,
        rateLimit: { requestsPerSecond: 200, concurrency: 4 },
      });
    }),
    groups: scenario.groups,
  };
  mkdirSync(dir, { recursive: true });
  const configFile = path.join(dir, 'unsub-recon.config.json');
  const envFile = path.join(dir, 'sandbox.env');
  writeFileSync(configFile, `${JSON.stringify(config, null, 2)}\n`);
  writeFileSync(envFile, exportLines(env), { mode: 0o600 });
  chmodSync(envFile, 0o600);

  return {
    scenario,
    dir,
    configFile,
    envFile,
    env,
    simulators,
    close: async () => {
      await Promise.all([...simulators.values()].map((s) => s.close()));
    },
  };
}

/**
 * A scenario account as an entry of a config file's `accounts`, pointing at `baseUrl`. Credentials
 * default to the literal values (tests, benchmarks); the sandbox passes `env:` references instead.
 */
export function scenarioConfigEntry(
  account: ScenarioAccount,
  baseUrl: string,
  overrides: {
    credentials?: Record<string, string>;
    rateLimit: { requestsPerSecond: number; concurrency: number };
  },
) {
  return {
    id: account.id,
    provider: account.provider,
    baseUrl,
    credentials: overrides.credentials ?? account.credentials,
    ...(Object.keys(account.options).length > 0 ? { options: account.options } : {}),
    timezone: account.timezone,
    since: account.since,
    rateLimit: overrides.rateLimit,
  };
}

/** The validated AccountConfig of a scenario account served at `baseUrl` (literal credentials). */
export function scenarioAccountConfig(
  account: ScenarioAccount,
  baseUrl: string,
  rateLimit: { requestsPerSecond: number; concurrency: number },
): AccountConfig {
  const entry = scenarioConfigEntry(account, baseUrl, { rateLimit });
  return parseConfig(JSON.stringify({ accounts: [entry] }), '/scenario/unsub-recon.config.json').accounts[0]!;
}

/** A scenario account as a simulator account: generated store, options and zone as metadata. */
export function scenarioSimAccount(account: ScenarioAccount, faults?: string) {
  return {
    key: account.key,
    id: account.id,
    credentials: account.credentials,
    store: new GeneratedStore(account.size, account.entryAt),
    meta: { ...account.options, timezone: account.timezone },
    ...(faults ? { faults } : {}),
  };
}

function faultsByAccount(specs: readonly string[], scenario: Scenario): Map<string, string> {
  const out = new Map<string, string>();
  const ids = scenario.accounts.map((a) => a.id);
  for (const spec of specs) {
    const match = /^([A-Za-z0-9._-]+)=(.*)$/.exec(spec);
    const targets = match ? [match[1]!] : ids;
    const faults = match ? match[2]! : spec;
    for (const id of targets) {
      if (!ids.includes(id))
        throw new UsageError(`--faults: unknown account "${id}"; expected one of ${ids.join(', ')}`);
    }
    parseFaults(faults); // throws UsageError naming the bad spec
    for (const id of targets) out.set(id, [out.get(id), faults].filter(Boolean).join(','));
  }
  return out;
}

export function exportLines(env: Record<string, string>): string {
  return Object.entries(env)
    .map(([name, value]) => `export ${name}='${value.replace(/'/g, "'\\''")}'`)
    .join('\n')
    .concat('\n');
}

/** Runs the sandbox in the foreground until SIGINT or SIGTERM. */
export async function sandboxCommand(options: SandboxOptions, out: Output): Promise<void> {
  const sandbox = await startSandbox(options);
  const accounts = sandbox.scenario.accounts.map((a) => ({
    account: a.id,
    provider: a.provider,
    url: sandbox.simulators.get(a.id)!.url,
    rows: a.size,
  }));
  const relativeConfig = path.relative(process.cwd(), sandbox.configFile) || sandbox.configFile;
  out.result(
    {
      status: 'ready',
      pid: process.pid,
      scenario: sandbox.scenario.name,
      seed: sandbox.scenario.seed,
      config: sandbox.configFile,
      envFile: sandbox.envFile,
      simulators: accounts,
    },
    () =>
      [
        `sandbox ready: scenario ${sandbox.scenario.name}, seed ${sandbox.scenario.seed}, ${accounts.length} simulators`,
        formatTable(accounts),
        `config: ${sandbox.configFile}`,
        '',
        '# simulator credentials (also in ' + sandbox.envFile + '):',
        exportLines(sandbox.env),
        'next, in another shell:',
        `  source ${path.relative(process.cwd(), sandbox.envFile) || sandbox.envFile}`,
        `  unsub-recon --config ${relativeConfig} config check`,
        `  unsub-recon --config ${relativeConfig} runs`,
        '',
        'stop with Ctrl-C.',
      ].join('\n'),
  );
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await sandbox.close();
  out.note('sandbox stopped');
}
