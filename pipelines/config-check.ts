/** `unsub-recon config check`: validate a config and show what it defines, without secrets. */
import type { Config } from '../extractors/core/config.js';
import { PROVIDERS } from '../extractors/registry.js';
import { formatTable, type Output } from './output.js';

export interface ConfigSummary {
  status: 'ok';
  config: string;
  warehouse: string;
  outDir: string;
  accounts: Array<{
    id: string;
    provider: string;
    baseUrl: string;
    timezone: string;
    since: string;
    lookbackDays: number;
    rateLimit: { requestsPerSecond: number; concurrency: number };
    /** Names of the credential fields it has (their values are secret and never shown). */
    credentials: readonly string[];
    options: Record<string, unknown>;
  }>;
  groups: Config['groups'];
}

export function summarizeConfig(config: Config): ConfigSummary {
  return {
    status: 'ok',
    config: config.file,
    warehouse: config.warehouse,
    outDir: config.outDir,
    accounts: config.accounts.map((a) => ({
      id: a.id,
      provider: a.provider,
      baseUrl: a.baseUrl,
      timezone: a.timezone,
      since: a.since,
      lookbackDays: a.lookbackDays,
      rateLimit: a.rateLimit,
      credentials: PROVIDERS[a.provider].config.credentials,
      options: a.options,
    })),
    groups: config.groups,
  };
}

export function configCheck(config: Config, out: Output): void {
  const summary = summarizeConfig(config);
  out.result(summary as unknown as Record<string, unknown>, () =>
    [
      `config ${summary.config}: valid`,
      `warehouse ${summary.warehouse}`,
      `outDir    ${summary.outDir}`,
      '',
      `accounts (${summary.accounts.length})`,
      formatTable(
        summary.accounts.map((a) => ({
          id: a.id,
          provider: a.provider,
          baseUrl: a.baseUrl,
          timezone: a.timezone,
          since: a.since,
          'req/s': a.rateLimit.requestsPerSecond,
          concurrency: a.rateLimit.concurrency,
        })),
      ),
      `groups (${summary.groups.length})`,
      formatTable(
        summary.groups.map((g) => ({
          id: g.id,
          policy: g.policy,
          scope: g.scope,
          source: g.source ?? '',
          accounts: g.accounts.join(', '),
        })),
        ['id', 'policy', 'scope', 'source', 'accounts'],
      ),
    ].join('\n'),
  );
}
