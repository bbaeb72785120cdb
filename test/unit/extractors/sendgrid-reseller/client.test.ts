/**
 * sendgrid-reseller client (extractors/sendgrid-reseller/client.ts → the shared
 * extractors/core/sendgrid-legacy/client.ts) against the real simulator on 127.0.0.1:0 through a
 * real HttpEngine: add / remove (applied, already), holds, one address per POST, bad credentials,
 * and a journal that never shows a delete without `email` (the simulator would wipe the list).
 */
import { describe, expect, it } from 'vitest';
import type { AccountConfig } from '../../../../extractors/core/config.js';
import { HttpEngine } from '../../../../extractors/core/http.js';
import { createRedactor } from '../../../../extractors/core/redact.js';
import { writeRequest } from '../../../../extractors/core/sendgrid-legacy/client.js';
import { RESELLER_ENDPOINT } from '../../../../extractors/sendgrid-reseller/extract.js';
import { sendgridResellerProvider as provider } from '../../../../extractors/sendgrid-reseller/index.js';
import { startSendgridResellerSimulator } from '../../../../extractors/sendgrid-reseller/simulator.js';
import { runLegacyClientSuite } from '../core/sendgrid-legacy/suite.js';

runLegacyClientSuite({
  provider,
  start: startSendgridResellerSimulator,
  path: '/api/distributor.manage',
  fixedParams: { method: 'unsubscribes' },
  user: 'customer@example.com',
  zone: 'America/Los_Angeles',
});

describe('sendgrid-reseller: write requests', () => {
  const account: AccountConfig = {
    id: 'sg-reseller',
    provider: 'sendgrid-reseller',
    baseUrl: 'https://api.sendgrid.com',
    credentials: { api_user: 'reseller-login', api_key: 'r3seller-key' },
    options: { user: 'customer@example.com' },
    timezone: 'America/Los_Angeles',
    since: '2010-01-01',
    lookbackDays: 2,
    timeoutMs: 30_000,
    rateLimit: { requestsPerSecond: 5, concurrency: 1 },
  };

  it('a delete is a POST form with method, user, task=delete and exactly one email', () => {
    const spec = writeRequest(RESELLER_ENDPOINT, account, 'delete', 'a@example.com');
    expect(spec).toMatchObject({
      method: 'POST',
      url: 'https://api.sendgrid.com/api/distributor.manage.json',
      idempotent: true,
    });
    const form = new URLSearchParams(String(spec.body));
    expect([...form.keys()]).toEqual(['api_user', 'api_key', 'method', 'user', 'task', 'email']);
    expect(form.getAll('email')).toEqual(['a@example.com']);
    expect(form.get('task')).toBe('delete');
  });

  it.each(['', ' ', '\r\n'])(
    'refuses to build a write for %j (no code path sends a delete without email)',
    (email) => {
      expect(() => writeRequest(RESELLER_ENDPOINT, account, 'delete', email)).toThrow(TypeError);
      expect(() => writeRequest(RESELLER_ENDPOINT, account, 'add', email)).toThrow(TypeError);
    },
  );

  it('createClient binds one account: two clients keep their own credentials', async () => {
    const sim = await startSendgridResellerSimulator({
      accounts: [
        { key: 'c1', id: 'one', credentials: { api_user: 'r1-login', api_key: 'r1-key' }, store: [] },
        { key: 'c2', id: 'two', credentials: { api_user: 'r2-login', api_key: 'r2-key' }, store: [] },
      ],
    });
    const http = new HttpEngine({ redact: createRedactor([]) });
    try {
      const one = provider.createClient(
        {
          ...account,
          baseUrl: sim.url,
          credentials: { api_user: 'r1-login', api_key: 'r1-key' },
          options: { user: 'c1' },
        },
        http,
      );
      const two = provider.createClient(
        {
          ...account,
          baseUrl: sim.url,
          credentials: { api_user: 'r2-login', api_key: 'r2-key' },
          options: { user: 'c2' },
        },
        http,
      );
      expect((await one.add(['x@example.com']))[0]!.outcome).toBe('applied');
      expect(await two.holds('x@example.com')).toBe(false);
      expect(await one.holds('x@example.com')).toBe(true);
      expect(sim.journal.writes().map((e) => e.account)).toEqual(['one']);
    } finally {
      await http.close();
      await sim.close();
    }
  });
});
