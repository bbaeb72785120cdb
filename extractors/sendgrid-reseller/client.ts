/**
 * Writes and single-address checks for one `sendgrid-reseller` account: `task=add` / `task=delete`
 * with exactly one `email` per POST, `task=get&email=` for holds (seed 000; behaviour shared with
 * `sendgrid-subuser` in ../core/sendgrid-legacy/client.ts).
 */
import { createLegacyClient } from '../core/sendgrid-legacy/client.js';
import { RESELLER_ENDPOINT } from './extract.js';

export const createSendgridResellerClient = createLegacyClient(RESELLER_ENDPOINT);
