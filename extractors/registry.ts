/**
 * The provider registry: one line per provider. Adding a provider means one folder under
 * extractors/ (exporting its ProviderModule from index.ts: extraction, client, simulator, and its
 * config and sandbox declarations) and one line here. Config validation, the scenario, the
 * sandbox and the transforms read everything provider-specific from these modules.
 */
import { bluehornetProvider } from './bluehornet/index.js';
import type { ProviderModule } from './core/provider.js';
import { sendcloudProvider } from './sendcloud/index.js';
import { sendgridResellerProvider } from './sendgrid-reseller/index.js';
import { sendgridSubuserProvider } from './sendgrid-subuser/index.js';
import { sendgridV3Provider } from './sendgrid-v3/index.js';
import { whatcountsProvider } from './whatcounts/index.js';

const registered = {
  'sendgrid-reseller': sendgridResellerProvider,
  'sendgrid-subuser': sendgridSubuserProvider,
  sendcloud: sendcloudProvider,
  whatcounts: whatcountsProvider,
  bluehornet: bluehornetProvider,
  'sendgrid-v3': sendgridV3Provider,
} as const satisfies Record<string, ProviderModule>;

/** The provider ids (core/types.ts `ProviderId`): the keys above. */
export type RegisteredProviderId = keyof typeof registered;

/** In this order in messages, `config check`, the scenario and the sandbox. */
export const PROVIDERS: Readonly<Record<RegisteredProviderId, ProviderModule>> = registered;

/** Every provider id, in registry order. */
export const PROVIDER_IDS = Object.keys(PROVIDERS) as readonly RegisteredProviderId[];

/** Each provider's simulator, for the sandbox, tests and benchmarks. */
export const SIMULATORS = Object.fromEntries(
  Object.entries(PROVIDERS).map(([id, provider]) => [id, provider.startSimulator]),
) as Readonly<Record<RegisteredProviderId, ProviderModule['startSimulator']>>;
