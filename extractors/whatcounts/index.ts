/**
 * The WhatCounts provider module (contract: extractors/core/provider.ts): opt-out listings read
 * per scope with `days` (extract.ts), global opt-outs written in batches and checked by re-reading
 * (client.ts), and the simulator (simulator.ts) behind the kit's start signature.
 */
import { z } from 'zod';
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

const listId = z.union([z.string().regex(/^\d+$/), z.number().int().positive()]).transform(String);

export const whatcountsProvider: ProviderModule = {
  id: 'whatcounts',
  config: {
    credentials: ['realm', 'password'],
    options: z
      .strictObject({
        lists: z.array(listId).default([]),
        customerKey: z.boolean().default(false),
        resubscribeList: listId.optional(),
      })
      .default({ lists: [], customerKey: false }),
    // Unknown server zone; US Pacific guess (provider notes).
    defaultTimezone: 'America/Los_Angeles',
    defaultBaseUrl: 'https://api.whatcounts.com',
  },
  sandboxAccount: { id: 'wc-main', timezone: 'America/Los_Angeles', options: { lists: ['12'] } },
  capabilities,
  planWindows,
  splitWindow,
  paginator,
  request,
  parse,
  createClient,
  startSimulator,
};
