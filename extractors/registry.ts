/**
 * The provider registry: one line per provider. Adding a provider means one folder under
 * extractors/ (exporting its ProviderModule from index.ts) and one line here.
 */
import { bluehornetProvider } from './bluehornet/index.js';
import type { ProviderModule } from './core/provider.js';
import type { ProviderId } from './core/types.js';
import { sendcloudProvider } from './sendcloud/index.js';
import { sendgridResellerProvider } from './sendgrid-reseller/index.js';
import { sendgridSubuserProvider } from './sendgrid-subuser/index.js';
import { whatcountsProvider } from './whatcounts/index.js';

export const PROVIDERS: Readonly<Record<ProviderId, ProviderModule>> = {
  'sendgrid-reseller': sendgridResellerProvider,
  'sendgrid-subuser': sendgridSubuserProvider,
  sendcloud: sendcloudProvider,
  whatcounts: whatcountsProvider,
  bluehornet: bluehornetProvider,
};

/** Each provider's simulator, for the sandbox, tests and benchmarks. */
export const SIMULATORS = Object.fromEntries(
  Object.entries(PROVIDERS).map(([id, provider]) => [id, provider.startSimulator]),
) as Readonly<Record<ProviderId, ProviderModule['startSimulator']>>;
