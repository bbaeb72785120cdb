/**
 * The SendCloud provider module (seed 002): extraction (extract.ts), the per-account client
 * (client.ts) and the simulator (simulator.ts), wired to the core contract.
 */
import { z } from 'zod';
import type { OffsetRequest } from '../core/paginate.js';
import type { ProviderModule, ProviderSimulatorOptions, RunningSimulator } from '../core/provider.js';
import { createSendcloudClient } from './client.js';
import { extract } from './extract.js';
import { type SendcloudMeta, type SendcloudSimAccountInput, startSendcloudSimulator } from './simulator.js';

/**
 * Adapts the generic simulator options to the SendCloud simulator's, without changing its
 * behaviour: `key` is the authenticating apiUser, credentials come in the config shape
 * (`apiUser`, `apiKey`; DESIGN.md), `meta` is the account's SendCloud settings (label names…).
 * @throws RangeError (from the simulator) for an account without `apiKey`.
 */
function startSimulator(options: ProviderSimulatorOptions): Promise<RunningSimulator> {
  const accounts = (options.accounts ?? []).map(
    (account): SendcloudSimAccountInput => ({
      key: account.key,
      ...(account.id !== undefined ? { id: account.id } : {}),
      ...(account.credentials !== undefined ? { credentials: account.credentials } : {}),
      ...(account.store !== undefined ? { store: account.store } : {}),
      ...(account.faults !== undefined ? { faults: account.faults } : {}),
      ...(account.rateLimit !== undefined ? { rateLimit: account.rateLimit } : {}),
      ...(account.meta !== undefined ? { meta: account.meta as SendcloudMeta } : {}),
    }),
  );
  return startSendcloudSimulator({
    accounts,
    ...(options.port !== undefined ? { port: options.port } : {}),
    ...(options.host !== undefined ? { host: options.host } : {}),
    ...(options.now !== undefined ? { now: options.now } : {}),
  });
}

export const sendcloudProvider: ProviderModule<OffsetRequest> = {
  id: 'sendcloud',
  config: {
    credentials: ['apiUser', 'apiKey'],
    options: z
      .strictObject({
        apiUserList: z.array(z.string().min(1)).optional(),
        labelIdList: z.array(z.union([z.string().min(1), z.number().int()]).transform(String)).optional(),
      })
      .default({}),
    // Documented UTC+8 (provider notes §5).
    defaultTimezone: 'Asia/Shanghai',
    defaultBaseUrl: 'https://api.sendcloud.net',
  },
  sandboxAccount: { id: 'sc-main', timezone: 'Asia/Shanghai', options: {} },
  ...extract,
  createClient: createSendcloudClient,
  startSimulator,
};
