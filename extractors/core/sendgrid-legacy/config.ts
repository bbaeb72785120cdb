/**
 * What a legacy SendGrid account (`sendgrid-reseller`, `sendgrid-subuser`) may say in the config
 * file (DESIGN.md "Config file"; shared/providers/sendgrid-{reseller,subuser}.md).
 */
import { z } from 'zod';
import type { ProviderConfigSpec } from '../provider.js';

export const sendgridLegacyConfig: ProviderConfigSpec = {
  credentials: ['api_user', 'api_key'],
  options: z.strictObject({
    user: z.string().min(1, 'the customer/subuser name'),
    format: z.enum(['json', 'xml']).default('json'),
  }),
  // Undocumented; the v2 pages say "Pacific Timezone" (provider notes, "Open questions").
  defaultTimezone: 'America/Los_Angeles',
  defaultBaseUrl: 'https://api.sendgrid.com',
};
