/**
 * Simulator of the SendGrid Reseller API v1 customer unsubscribes (seed 000,
 * `distributor.manage` with `method=unsubscribes`). The legacy Web API behaviour it shares with
 * sendgrid-subuser lives in extractors/core/sendgrid-legacy/; this file only declares the routes.
 * Endpoints, parameters, errors and every assumption: ./README.md.
 */
import {
  type LegacyDialect,
  type LegacyRoute,
  type SendgridLegacyAccountInit,
  type SendgridLegacyMeta,
  type SendgridLegacySimulator,
  startSendgridLegacySimulator,
} from '../core/sendgrid-legacy/index.js';

export const PROVIDER_ID = 'sendgrid-reseller';

/**
 * A reseller customer: `key` is the customer username (the `user` parameter, seed 000: "Customer
 * must be registered under your account"); `credentials` are the reseller's `api_user`/`api_key`;
 * `meta.timezone` the zone `created` is rendered in (default America/Los_Angeles [A]).
 */
export type SendgridResellerSimAccountInput = SendgridLegacyAccountInit;
export type SendgridResellerSimAccountMeta = SendgridLegacyMeta;

// Seed 000 shows `https://sendgrid.com/api/distributor.manage.{xml|json}`; the v2 successor
// `apiv2/reseller.manage` takes the same parameters (providers/sendgrid-reseller.md §1, [D:2]).
const ROUTE = /^\/(?:api\/distributor|apiv2\/reseller)\.manage\.(json|xml)$/;

export const resellerDialect: LegacyDialect = {
  name: PROVIDER_ID,
  route: (path): LegacyRoute | undefined => {
    const m = ROUTE.exec(path);
    return m
      ? { kind: 'user', format: m[1] === 'xml' ? 'xml' : 'json', requireMethod: 'unsubscribes' }
      : undefined;
  },
};

/** Starts the simulator on 127.0.0.1 (port 0 = any free port). See ./README.md. */
export function startSendgridResellerSimulator(options: {
  port?: number;
  host?: string;
  accounts: readonly SendgridResellerSimAccountInput[];
  now?: () => number;
}): Promise<SendgridLegacySimulator> {
  return startSendgridLegacySimulator(resellerDialect, options);
}
