/**
 * sendgrid-subuser client (extractors/sendgrid-subuser/client.ts → the shared
 * extractors/core/sendgrid-legacy/client.ts) against the real simulator on 127.0.0.1:0 through a
 * real HttpEngine: add / remove (applied, already), holds, one address per POST, bad credentials,
 * a journal that never shows a write without `email`, and never a call to the account-level
 * `unsubscribes.*` endpoints whose `delete_all=1` / date-window deletes are destructive.
 */
import { describe, expect, it } from 'vitest';
import type { AccountConfig } from '../../../../extractors/core/config.js';
import { writeRequest } from '../../../../extractors/core/sendgrid-legacy/client.js';
import { SUBUSER_ENDPOINT } from '../../../../extractors/sendgrid-subuser/extract.js';
import { sendgridSubuserProvider as provider } from '../../../../extractors/sendgrid-subuser/index.js';
import { startSendgridSubuserSimulator } from '../../../../extractors/sendgrid-subuser/simulator.js';
import { runLegacyClientSuite } from '../core/sendgrid-legacy/suite.js';

runLegacyClientSuite({
  provider,
  start: startSendgridSubuserSimulator,
  path: '/api/user.unsubscribes',
  fixedParams: {},
  user: 'brand-sub',
  zone: 'America/Chicago',
});

describe('sendgrid-subuser: write requests', () => {
  const account: AccountConfig = {
    id: 'sg-sub',
    provider: 'sendgrid-subuser',
    baseUrl: 'https://api.sendgrid.com',
    credentials: { api_user: 'parent-login', api_key: 'par3nt-key' },
    options: { user: 'brand-sub', format: 'xml' },
    timezone: 'America/Chicago',
    since: '2010-01-01',
    lookbackDays: 2,
    timeoutMs: 30_000,
    rateLimit: { requestsPerSecond: 5, concurrency: 1 },
  };

  it('an add is a POST form to user.unsubscribes with user, task=add and exactly one email', () => {
    const spec = writeRequest(SUBUSER_ENDPOINT, account, 'add', 'a@example.com');
    expect(spec.url).toBe('https://api.sendgrid.com/api/user.unsubscribes.xml');
    const form = new URLSearchParams(String(spec.body));
    expect([...form.keys()]).toEqual(['api_user', 'api_key', 'user', 'task', 'email']);
    expect(form.get('task')).toBe('add');
    expect(form.getAll('email')).toEqual(['a@example.com']);
  });

  it('refuses to build a delete without an address', () => {
    expect(() => writeRequest(SUBUSER_ENDPOINT, account, 'delete', '')).toThrow(TypeError);
  });
});
