/**
 * SendGrid Reseller API v1 customer unsubscribes (`sendgrid-reseller`, seed 000): the endpoint
 * declaration. Windows, request form, parsing and error classification are the legacy Web API's,
 * shared with `sendgrid-subuser` in ../core/sendgrid-legacy/extract.ts; ./README.md ("Extraction
 * and writes") describes both.
 */
import { createLegacyExtract, type LegacyEndpoint } from '../core/sendgrid-legacy/extract.js';

/**
 * `POST {baseUrl}/api/distributor.manage.{json|xml}` with `method=unsubscribes` and
 * `user=<customer>` (seed 000 "XML Call"/"JSON Call"; POST form per the 2018 revision [D:1],
 * shared/providers/sendgrid-reseller.md §1).
 */
export const RESELLER_ENDPOINT: LegacyEndpoint = {
  provider: 'sendgrid-reseller',
  path: '/api/distributor.manage',
  fixedParams: { method: 'unsubscribes' },
  userKind: 'customer',
};

export const extract = createLegacyExtract(RESELLER_ENDPOINT);
