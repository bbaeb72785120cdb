/**
 * The `sendgrid-subuser` provider module (seed 001): extraction (extract.ts), the per-account
 * client (client.ts) and the simulator (simulator.ts), wired to the core contract.
 */
import type { SingleShotRequest } from '../core/paginate.js';
import type { ProviderModule, ProviderSimulatorOptions, RunningSimulator } from '../core/provider.js';
import { sendgridLegacyConfig } from '../core/sendgrid-legacy/config.js';
import { legacySimOptions } from '../core/sendgrid-legacy/sim-options.js';
import { createSendgridSubuserClient } from './client.js';
import { extract } from './extract.js';
import { startSendgridSubuserSimulator } from './simulator.js';

/** @throws RangeError (from the simulator) for an unknown `meta.timezone` or missing credentials. */
function startSimulator(options: ProviderSimulatorOptions): Promise<RunningSimulator> {
  return startSendgridSubuserSimulator(legacySimOptions(options));
}

export const sendgridSubuserProvider: ProviderModule<SingleShotRequest> = {
  id: 'sendgrid-subuser',
  config: sendgridLegacyConfig,
  sandboxAccount: {
    id: 'sg-sub',
    timezone: 'America/Chicago',
    key: 'brand-sub',
    options: { user: 'brand-sub', format: 'xml' },
  },
  ...extract,
  createClient: createSendgridSubuserClient,
  startSimulator,
};
