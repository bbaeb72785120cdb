/**
 * Adapts the provider-independent simulator options (`ProviderModule.startSimulator`) to the
 * legacy SendGrid simulator's accounts, without changing the simulator's behaviour: credentials
 * are already in the config shape (`api_user`, `api_key`; DESIGN.md), and of `meta` only the
 * legacy settings are kept (`timezone`, `deleteWithoutEmail`, `login`) — a sandbox account's meta
 * also carries its config options (`user`, `format`), which the simulator does not read.
 */
import type { ProviderSimulatorOptions } from '../provider.js';
import type { SendgridLegacyAccountInit, SendgridLegacyMeta, StartLegacyOptions } from './simulator.js';

function legacyMeta(meta: Readonly<Record<string, unknown>> | undefined): SendgridLegacyMeta {
  const out: SendgridLegacyMeta = {};
  if (typeof meta?.['timezone'] === 'string') out.timezone = meta['timezone'];
  const del = meta?.['deleteWithoutEmail'];
  if (del === 'wipe' || del === 'reject') out.deleteWithoutEmail = del;
  const login = meta?.['login'] as { api_user?: unknown; api_key?: unknown } | undefined;
  if (typeof login?.api_user === 'string' && typeof login.api_key === 'string') {
    out.login = { api_user: login.api_user, api_key: login.api_key };
  }
  return out;
}

/** The legacy simulator's start options for `options`. */
export function legacySimOptions(options: ProviderSimulatorOptions): StartLegacyOptions {
  const accounts = (options.accounts ?? []).map(
    (account): SendgridLegacyAccountInit => ({
      key: account.key,
      ...(account.id !== undefined ? { id: account.id } : {}),
      ...(account.credentials !== undefined ? { credentials: account.credentials } : {}),
      ...(account.store !== undefined ? { store: account.store } : {}),
      ...(account.faults !== undefined ? { faults: account.faults } : {}),
      ...(account.rateLimit !== undefined ? { rateLimit: account.rateLimit } : {}),
      meta: legacyMeta(account.meta as Readonly<Record<string, unknown>> | undefined),
    }),
  );
  return {
    accounts,
    ...(options.port !== undefined ? { port: options.port } : {}),
    ...(options.host !== undefined ? { host: options.host } : {}),
    ...(options.now !== undefined ? { now: options.now } : {}),
  };
}
