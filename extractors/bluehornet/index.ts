/**
 * The BlueHornet provider module (seed 004): extraction (extract.ts), the per-account client
 * (client.ts) and the simulator (simulator.ts), wired to the core contract.
 */
import { z } from 'zod';
import type { SingleShotRequest } from '../core/paginate.js';
import type { ProviderModule, ProviderSimulatorOptions, RunningSimulator } from '../core/provider.js';
import { createBlueHornetClient } from './client.js';
import { extract } from './extract.js';
import {
  type BlueHornetMeta,
  type BlueHornetSimAccountInput,
  startBlueHornetSimulator,
} from './simulator.js';

/**
 * Adapts the generic simulator options to the BlueHornet simulator's, without changing its
 * behaviour: credentials come in the config shape (`apiKey`, `sharedSecret`; DESIGN.md), `meta`
 * is the account's BlueHornet settings (timezone, externalId, contacts).
 * @throws RangeError (from the simulator) for an account without `sharedSecret`.
 */
function startSimulator(options: ProviderSimulatorOptions): Promise<RunningSimulator> {
  const accounts = (options.accounts ?? []).map((account): BlueHornetSimAccountInput => {
    const credentials = account.credentials ?? {};
    return {
      key: account.key,
      ...(account.id !== undefined ? { id: account.id } : {}),
      credentials: {
        ...(credentials.apiKey !== undefined ? { apiKey: credentials.apiKey } : {}),
        sharedSecret: credentials.sharedSecret ?? '',
      },
      ...(account.store !== undefined ? { store: account.store } : {}),
      ...(account.faults !== undefined ? { faults: account.faults } : {}),
      ...(account.rateLimit !== undefined ? { rateLimit: account.rateLimit } : {}),
      ...(account.meta !== undefined ? { meta: account.meta as BlueHornetMeta } : {}),
    };
  });
  return startBlueHornetSimulator({
    accounts,
    ...(options.port !== undefined ? { port: options.port } : {}),
    ...(options.host !== undefined ? { host: options.host } : {}),
    ...(options.now !== undefined ? { now: options.now } : {}),
  });
}

export const bluehornetProvider: ProviderModule<SingleShotRequest> = {
  id: 'bluehornet',
  config: {
    credentials: ['apiKey', 'sharedSecret'],
    options: z.strictObject({}).default({}),
    // Unknown server zone; US Pacific guess (provider notes).
    defaultTimezone: 'America/Los_Angeles',
    defaultBaseUrl: 'https://echo.bluehornet.com',
  },
  sandboxAccount: { id: 'bh-main', timezone: 'America/New_York', options: {} },
  ...extract,
  createClient: createBlueHornetClient,
  startSimulator,
};
