/**
 * The `sendgrid-v3` provider module (SendGrid Web API v3 global unsubscribes; no seed, see
 * shared/providers/sendgrid-v3.md): extraction (extract.ts), the per-account client (client.ts),
 * the simulator (simulator.ts), and what its config and sandbox account look like.
 */
import { z } from 'zod';
import type { OffsetRequest } from '../core/paginate.js';
import type { ProviderModule, ProviderSimulatorOptions, RunningSimulator } from '../core/provider.js';
import { createSendgridV3Client } from './client.js';
import { extract } from './extract.js';
import {
  type SendgridV3Meta,
  type SendgridV3SimAccountInput,
  startSendgridV3Simulator,
} from './simulator.js';

/** §1: global users and subusers, and EU-pinned subusers. */
export const BASE_URLS = { global: 'https://api.sendgrid.com', eu: 'https://api.eu.sendgrid.com' } as const;

/**
 * Adapts the generic simulator options: `key` is the `on-behalf-of` value (or the key itself),
 * `credentials.apiKey` the key, `meta` the account's v3 settings (region, budget).
 * @throws RangeError (from the simulator) for an account without `apiKey`.
 */
function startSimulator(options: ProviderSimulatorOptions): Promise<RunningSimulator> {
  return startSendgridV3Simulator({
    ...(options.port !== undefined ? { port: options.port } : {}),
    ...(options.host !== undefined ? { host: options.host } : {}),
    ...(options.now !== undefined ? { now: options.now } : {}),
    accounts: (options.accounts ?? []).map(
      (account): SendgridV3SimAccountInput => ({
        ...account,
        ...(account.meta !== undefined ? { meta: account.meta as SendgridV3Meta } : {}),
      }),
    ),
  });
}

export const sendgridV3Provider: ProviderModule<OffsetRequest> = {
  id: 'sendgrid-v3',
  config: {
    credentials: ['apiKey'],
    options: z
      .strictObject({
        // §2: a subuser's username, or "account-id <id>" for a reseller customer account.
        onBehalfOf: z
          .string()
          .regex(/^\S(?:[^\r\n]*\S)?$/, 'a subuser username, or "account-id <id>" for a customer account')
          .optional(),
        region: z.enum(['global', 'eu']).default('global'),
      })
      .default({ region: 'global' }),
    // Unix seconds are UTC (§5); the zone only places `since` and `--from` dates.
    defaultTimezone: 'UTC',
    defaultBaseUrl: (options) => (options.region === 'eu' ? BASE_URLS.eu : BASE_URLS.global),
  },
  sandboxAccount: {
    id: 'sg-v3',
    timezone: 'America/Denver',
    key: 'brand-v3',
    options: { onBehalfOf: 'brand-v3' },
  },
  ...extract,
  createClient: createSendgridV3Client,
  startSimulator,
};
