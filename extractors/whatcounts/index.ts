/**
 * The WhatCounts provider module (contract: extractors/core/provider.ts): opt-out listings read
 * per scope with `days` (extract.ts), global opt-outs written in batches and checked by re-reading
 * (client.ts), and the simulator (simulator.ts) behind the kit's start signature.
 */
import type { ProviderModule, ProviderSimulatorOptions } from '../core/provider.js';
import type { SimAccountInit, Simulator } from '../core/simulator/index.js';
import { createClient } from './client.js';
import { capabilities, paginator, parse, planWindows, request, splitWindow } from './extract.js';
import { startWhatCountsSimulator, type WhatCountsAccountMeta } from './simulator.js';

/**
 * Kit accounts (`key` = realm, `credentials.password` or `.p`, `meta` = realm settings such as the
 * account's config `options`) are what the simulator's own kit form accepts; only the types
 * differ, so they are passed through unchanged.
 */
async function startSimulator(options: ProviderSimulatorOptions): Promise<Simulator> {
  const sim = await startWhatCountsSimulator({
    ...(options.port === undefined ? {} : { port: options.port }),
    ...(options.host === undefined ? {} : { host: options.host }),
    ...(options.now === undefined ? {} : { now: options.now }),
    accounts: options.accounts as readonly SimAccountInit<WhatCountsAccountMeta>[],
  });
  // A WhatCounts simulator is a kit simulator whose meta type is narrower (and whose addAccount
  // also takes the realm/password form): the generic view loses nothing.
  return sim as unknown as Simulator;
}

export const whatcountsProvider: ProviderModule = {
  id: 'whatcounts',
  capabilities,
  planWindows,
  splitWindow,
  paginator,
  request,
  parse,
  createClient,
  startSimulator,
};
