/**
 * Writes and single-address checks for one `sendgrid-subuser` account: `user.unsubscribes`
 * `task=add` / `task=delete` with exactly one `email` per POST, `task=get&email=` for holds
 * (seed 001). The account-level `unsubscribes.delete`, whose `delete_all=1` and date-window forms
 * are destructive (README "Destructive forms"), is never called. Shared behaviour:
 * ../core/sendgrid-legacy/client.ts.
 */
import { createLegacyClient } from '../core/sendgrid-legacy/client.js';
import { SUBUSER_ENDPOINT } from './extract.js';

export const createSendgridSubuserClient = createLegacyClient(SUBUSER_ENDPOINT);
