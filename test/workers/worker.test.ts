// Runs inside workerd: the Worker entry from wrangler.toml, with Hyperdrive pointing at the fresh
// database of global-setup.ts. Each request builds its own postgres.js client, as in production.
import {
  createExecutionContext,
  createScheduledController,
  env,
  SELF,
  waitOnExecutionContext,
} from 'cloudflare:test';
import { describe, expect, inject, it } from 'vitest';
import { createSql, type Sql } from '../../src/db/client';
import * as entry from '../../src/worker';

const worker = entry.default;

const apiKey = inject('workersApiKey');
const BASE = 'https://pay.alatau.test';

interface InvoiceJson {
  id: string;
  status: string;
  amount: string;
  currency: string;
  checkoutUrl: string;
  paymentOptions: {
    option: string;
    asset: string;
    network: string;
    address: string;
    amount: string;
    amountAtomic: string;
    uri: string;
  }[];
}

function call(path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (!headers.has('authorization')) headers.set('authorization', `Bearer ${apiKey}`);
  if (init.body !== undefined) headers.set('content-type', 'application/json');
  return SELF.fetch(`${BASE}${path}`, { ...init, headers });
}

async function createInvoice(body: Record<string, unknown>): Promise<InvoiceJson> {
  const res = await call('/v1/invoices', { method: 'POST', body: JSON.stringify(body) });
  expect(res.status, await res.clone().text()).toBe(201);
  return (await res.json()) as InvoiceJson;
}

describe('the Worker inside workerd, on PostgreSQL through Hyperdrive', () => {
  it('exports only the default handler (workerd refuses a main module with other value exports)', () => {
    expect(Object.keys(entry)).toEqual(['default']);
    expect(Object.keys(worker).sort()).toEqual(['fetch', 'scheduled']);
  });

  it("runs in workerd with the Hyperdrive binding on this run's database", () => {
    expect(navigator.userAgent).toBe('Cloudflare-Workers');
    const viaBinding = new URL(env.HYPERDRIVE.connectionString);
    // Miniflare's local Hyperdrive proxy, not a direct connection string.
    expect(viaBinding.hostname).toMatch(/\.hyperdrive\.local$/);
    expect(viaBinding.pathname).toBe(new URL(inject('workersDatabaseUrl')).pathname);
  });

  it('answers /healthz and /readyz (migrations applied)', async () => {
    const health = await SELF.fetch(`${BASE}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ ok: true });
    const ready = await SELF.fetch(`${BASE}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ ready: true });
  });

  it('creates a 15000.00 KZT invoice with BTC and LTC regtest options and reads it back', async () => {
    const created = await createInvoice({ amount: '15000.00', currency: 'KZT', orderId: 'wk-1' });
    expect(created.id).toMatch(/^inv_/);
    expect(created.status).toBe('new');
    expect(created.amount).toBe('15000.00');
    expect(created.checkoutUrl).toBe(`${BASE}/pay/${created.id}`);
    const byOption = new Map(created.paymentOptions.map((o) => [o.option, o]));
    expect([...byOption.keys()].sort()).toEqual(['BTC@bitcoin-regtest', 'LTC@litecoin-regtest']);
    // Derived in workerd with @noble/@scure from the BIP84 test vector: regtest bech32 addresses.
    expect(byOption.get('BTC@bitcoin-regtest')?.address).toMatch(/^bcrt1q[02-9ac-hj-np-z]{38}$/);
    expect(byOption.get('LTC@litecoin-regtest')?.address).toMatch(/^rltc1q[02-9ac-hj-np-z]{38}$/);
    for (const o of created.paymentOptions) {
      expect(BigInt(o.amountAtomic)).toBeGreaterThan(0n);
      expect(o.uri.toLowerCase()).toContain(o.address.toLowerCase());
    }

    const res = await call(`/v1/invoices/${created.id}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(created);

    // A second invoice gets the next derivation index: never the same address twice.
    const next = await createInvoice({ amount: '500.00', currency: 'KZT' });
    const nextBtc = next.paymentOptions.find((o) => o.option === 'BTC@bitcoin-regtest');
    expect(nextBtc?.address).not.toBe(byOption.get('BTC@bitcoin-regtest')?.address);
  });

  it('answers bad input with 422 problem+json naming the fields, and a bad key with 401', async () => {
    const res = await call('/v1/invoices', {
      method: 'POST',
      body: JSON.stringify({ amount: '15000.001', currency: 'USD' }),
    });
    expect(res.status).toBe(422);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    const problem = (await res.json()) as { code: string; status: number; errors: { path: string }[] };
    expect(problem.status).toBe(422);
    expect(problem.code).toBe('validation_failed');
    expect(problem.errors.map((e) => e.path).sort()).toEqual(['amount', 'currency']);

    const unauth = await call('/v1/invoices/inv_x', { headers: { authorization: 'Bearer sk_test_nope' } });
    expect(unauth.status).toBe(401);
    expect(unauth.headers.get('content-type')).toContain('application/problem+json');
  });

  it('refuses to serve with a bad configuration, naming the variable', async () => {
    const bad = { ...env, NETWORK_MODE: 'moon' };
    const res = await worker.fetch(new Request(`${BASE}/healthz`), bad, createExecutionContext());
    expect(res.status).toBe(500);
    const problem = (await res.json()) as { code: string; errors: { path: string; message: string }[] };
    expect(problem.code).toBe('invalid_config');
    expect(problem.errors.map((e) => e.path)).toEqual(['NETWORK_MODE']);
  });

  it('runs the tick from the cron trigger: an invoice past its expiry becomes expired', async () => {
    const inv = await createInvoice({ amount: '500.00', currency: 'KZT' });
    const sql = createSql(env.HYPERDRIVE.connectionString, { max: 1 });
    // Not ended on purpose: sql.end() inside workerd leaves an unhandled rejection.
    await sql`update invoices set expires_at = now() - interval '1 minute' where id = ${inv.id}`;

    const ctx = createExecutionContext();
    worker.scheduled(createScheduledController({ cron: '* * * * *', scheduledTime: Date.now() }), env, ctx);
    await waitOnExecutionContext(ctx);

    const res = await call(`/v1/invoices/${inv.id}`);
    expect(((await res.json()) as InvoiceJson).status).toBe('expired');
  });

  it('refuses webhooks without WEBHOOK_ENCRYPTION_KEY, accepts them with one', async () => {
    const body = JSON.stringify({ url: 'http://127.0.0.1:9/hook', events: ['invoice.settled'] });
    const init = {
      method: 'POST',
      body,
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    };
    const refused = await SELF.fetch(`${BASE}/v1/webhooks`, init);
    expect(refused.status).toBe(500);
    expect(((await refused.json()) as { code: string }).code).toBe('webhook_key_missing');

    const keyed = {
      ...env,
      WEBHOOK_ENCRYPTION_KEY: btoa(String.fromCharCode(...new Uint8Array(32).fill(7))),
    };
    const res = await worker.fetch(new Request(`${BASE}/v1/webhooks`, init), keyed, createExecutionContext());
    expect(res.status, await res.clone().text()).toBe(201);
    expect(((await res.json()) as { secret: string }).secret).toMatch(/^whsec_/);
  });

  it('fetches the rates once for two invoices in a row in testnet mode (the rate cache lives per isolate)', async () => {
    const rates = inject('workersRatesUrl');
    const testnet = {
      ...env,
      NETWORK_MODE: 'testnet',
      NBK_URL: `${rates}/nbk`,
      BINANCE_URL: `${rates}/binance`,
      KRAKEN_URL: `${rates}/kraken`,
      COINGECKO_URL: `${rates}/cg`,
    };
    const key = inject('workersTestnetApiKey');
    const create = async (orderId: string, runtimeEnv: typeof testnet) => {
      const res = await worker.fetch(
        new Request(`${BASE}/v1/invoices`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify({ amount: '15000.00', currency: 'KZT', orderId }),
        }),
        runtimeEnv,
        createExecutionContext(),
      );
      expect(res.status, await res.clone().text()).toBe(201);
      const inv = (await res.json()) as InvoiceJson;
      expect(inv.paymentOptions.map((o) => o.option)).toEqual(['BTC@bitcoin-testnet4']);
      return inv;
    };
    const asked = async () => (await (await fetch(`${rates}/requests`)).json()) as string[];

    const first = await create('tn-1', testnet);
    const afterFirst = await asked();
    // All four services were asked for the first invoice...
    for (const service of ['/nbk/', '/binance/', '/kraken/', '/cg/']) {
      expect(
        afterFirst.some((r) => r.startsWith(service)),
        service,
      ).toBe(true);
    }
    // ...and none for the second: the same rates, from the isolate's cache, even when the runtime
    // hands the next request an env object of its own.
    const second = await create('tn-2', { ...testnet });
    expect(await asked()).toEqual(afterFirst);
    expect(second.paymentOptions[0]?.amountAtomic).toBe(first.paymentOptions[0]?.amountAtomic);
  });

  it('opens at most one database connection per request (create, read, checkout page)', async () => {
    // pg_stat_database.sessions counts every connection ever opened to this database; the reader's
    // own connection is opened before the first reading.
    const reader = createSql(env.HYPERDRIVE.connectionString, { max: 1 });
    await reader`select 1`;
    const opened = async (request: () => Promise<Response>) => {
      const before = await sessions(reader);
      const res = await request();
      expect(res.status, await res.clone().text()).toBeLessThan(300);
      await res.arrayBuffer();
      return (await sessions(reader)) - before;
    };
    let id = '';
    const created = await opened(async () => {
      const res = await call('/v1/invoices', {
        method: 'POST',
        body: JSON.stringify({ amount: '700.00', currency: 'KZT' }),
      });
      id = ((await res.clone().json()) as InvoiceJson).id;
      return res;
    });
    const read = await opened(() => call(`/v1/invoices/${id}`));
    const page = await opened(() => SELF.fetch(`${BASE}/pay/${id}`));
    // Each one did reach the database (the counter works) through exactly one connection.
    expect({ created, read, page }).toEqual({ created: 1, read: 1, page: 1 });
  });
});

async function sessions(sql: Sql): Promise<number> {
  // Statistics are read as of this query, not from the transaction's cached snapshot.
  const [row] = await sql<{ n: string }[]>`
    select sessions::text as n from pg_stat_database where datname = current_database()`;
  return Number(row?.n);
}
