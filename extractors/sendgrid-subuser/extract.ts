/**
 * SendGrid Customer Subuser `user.unsubscribes` (`sendgrid-subuser`, seed 001): the endpoint
 * declaration. Windows, request form, parsing and error classification are the legacy Web API's,
 * shared with `sendgrid-reseller` in ../core/sendgrid-legacy/extract.ts; ./README.md ("Extraction
 * and writes") describes both and why the account-level paged `unsubscribes.get` is not used.
 */
import { createLegacyExtract, type LegacyEndpoint } from '../core/sendgrid-legacy/extract.js';

/**
 * `POST {baseUrl}/api/user.unsubscribes.{json|xml}` with `user=<subuser>` and the parent's
 * `api_user`/`api_key` (seed 001 "Call"; shared/providers/sendgrid-subuser.md §1), which is what
 * the config gives (DESIGN.md: `options.user` = the subuser).
 */
export const SUBUSER_ENDPOINT: LegacyEndpoint = {
  provider: 'sendgrid-subuser',
  path: '/api/user.unsubscribes',
  fixedParams: {},
  userKind: 'subuser',
};

export const extract = createLegacyExtract(SUBUSER_ENDPOINT);
