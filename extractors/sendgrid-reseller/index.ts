/**
 * The `sendgrid-reseller` provider module (seed 000): extraction (extract.ts), the per-account
 * client (client.ts) and the simulator (simulator.ts), wired to the core contract.
 */
import type { SingleShotRequest } from '../core/paginate.js';
import type { ProviderModule, ProviderSimulatorOptions, RunningSimulator } from '../core/provider.js';
import { sendgridLegacyConfig } from '../core/sendgrid-legacy/config.js';
import { legacySimOptions } from '../core/sendgrid-legacy/sim-options.js';
import { createSendgridResellerClient } from './client.js';
import { extract } from './extract.js';
import { startSendgridResellerSimulator } from './simulator.js';

/** @throws RangeError (from the simulator) for an unknown `meta.timezone` or missing credentials. */
function startSimulator(options: ProviderSimulatorOptions): Promise<RunningSimulator> {
  return startSendgridResellerSimulator(legacySimOptions(options));
}

export const sendgridResellerProvider: ProviderModule<SingleShotRequest> = {
  id: 'sendgrid-reseller',
  config: sendgridLegacyConfig,
  sandboxAccount: {
    id: 'sg-reseller',
    timezone: 'America/Los_Angeles',
    key: 'customer@example.com',
    options: { user: 'customer@example.com', format: 'json' },
  },
  ...extract,
  createClient: createSendgridResellerClient,
  startSimulator,
};
