/**
 * Simulator of the SendGrid Customer Subuser API `user.unsubscribes` (seed 001) and of the
 * account-level Web API v2 `unsubscribes.get|add|delete` a subuser can call with its own login
 * (the only paged legacy endpoint: `limit`/`offset`, providers/sendgrid-subuser.md §3b). The
 * legacy Web API behaviour shared with sendgrid-reseller lives in extractors/core/sendgrid-legacy/;
 * this file only declares the routes. Endpoints, parameters, errors, assumptions: ./README.md.
 */
import {
  type LegacyDialect,
  type LegacyRoute,
  type SendgridLegacyAccountInit,
  type SendgridLegacyMeta,
  type SendgridLegacySimulator,
  startSendgridLegacySimulator,
} from '../core/sendgrid-legacy/index.js';

export const PROVIDER_ID = 'sendgrid-subuser';

/**
 * A subuser: `key` is the subuser username (the `user` parameter, seed 001: "Subuser must be
 * registered under your account"); `credentials` are the parent's `api_user`/`api_key`;
 * `meta.login` the subuser's own login for `unsubscribes.*` (default api_user = key, api_key =
 * the parent's [A]); `meta.timezone` the zone of `created` (default America/Los_Angeles [A]).
 */
export type SendgridSubuserSimAccountInput = SendgridLegacyAccountInit;
export type SendgridSubuserSimAccountMeta = SendgridLegacyMeta;

// Seed 001: `POST https://api.sendgrid.com/api/user.unsubscribes.{json|xml}`.
const USER_ROUTE = /^\/api\/user\.unsubscribes\.(json|xml)$/;
// Web API v2 Unsubscribes [D:3]: `/api/unsubscribes.{get|add|delete}.{json|xml}`.
const SELF_ROUTE = /^\/api\/unsubscribes\.(get|add|delete)\.(json|xml)$/;

export const subuserDialect: LegacyDialect = {
  name: PROVIDER_ID,
  route: (path): LegacyRoute | undefined => {
    const user = USER_ROUTE.exec(path);
    if (user) return { kind: 'user', format: user[1] === 'xml' ? 'xml' : 'json' };
    const self = SELF_ROUTE.exec(path);
    if (!self) return undefined;
    const task = self[1] === 'add' ? 'add' : self[1] === 'delete' ? 'delete' : 'get';
    return { kind: 'self', task, format: self[2] === 'xml' ? 'xml' : 'json' };
  },
};

/** Starts the simulator on 127.0.0.1 (port 0 = any free port). See ./README.md. */
export function startSendgridSubuserSimulator(options: {
  port?: number;
  host?: string;
  accounts: readonly SendgridSubuserSimAccountInput[];
  now?: () => number;
}): Promise<SendgridLegacySimulator> {
  return startSendgridLegacySimulator(subuserDialect, options);
}
