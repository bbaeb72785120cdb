/**
 * Legacy SendGrid Web API pieces shared by the `sendgrid-reseller` and `sendgrid-subuser`
 * providers (seeds 000/001 describe the same API family). Lives under core/ because a provider
 * folder may import only from core/, never from another provider (STYLE.md).
 */
export * from './format.js';
export * from './params.js';
export * from './simulator.js';
export * from './time.js';
