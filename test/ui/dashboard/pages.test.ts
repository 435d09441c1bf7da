// The dashboard's pages in-process: creating an invoice from the form, the list's filters and pages,
// an invoice's timeline with its webhook deliveries, webhooks (secret once, rotate, redeliver, delete),
// API keys (once, revoke), settings (first address before saving a key, EIP-55 payout), CSV and chart,
// and that one merchant never sees another's invoice.
import { bech32 } from '@scure/base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { almatyDay } from '../../../src/dashboard/queries';
import { createDashboardUser } from '../../../src/dashboard/users';
import { confirmPayment, recordPayment } from '../../../src/invoices/state';
import { DEMO_VPUB } from '../../../src/seed';
import { runWebhookTick } from '../../../src/webhooks/dispatch';
import { createTestMerchant, jsonRequest, type TestContext } from '../../helpers/services';
import { type Receiver, startReceiver } from '../../webhooks/receiver';
import { type Client, client, dashboardContext, decode, PASSWORD, signIn } from './support';

let ctx: TestContext;
let apiKey: string;
let merchantId: string;
let c: Client;
let csrf: string;
let receiver: Receiver;

beforeAll(async () => {
  const d = await dashboardContext();
  ctx = d.ctx;
  apiKey = d.apiKey;
  merchantId = d.merchant.id;
  c = client(ctx);
  expect((await signIn(c, d.email)).res.status).toBe(303);
  csrf = await c.csrf();
  receiver = await startReceiver();
});
afterAll(async () => {
  await receiver?.close();
  await ctx?.close();
});

async function createViaForm(form: Record<string, string | string[]>) {
  return c.post('/dashboard/invoices', { csrf, ...form });
}

let txn = 0;
async function payFull(invoiceId: string, confirmations = 1) {
  const r = await ctx.db.sql.begin((tx) =>
    recordPayment(tx, ctx.services.state, {
      invoiceId,
      option: 'BTC@bitcoin-regtest',
      network: 'bitcoin-regtest',
      txid: (++txn).toString(16).padStart(64, 'a'),
      outputIndex: 0,
      fromAddresses: [],
      amountAtomic: 30_000n,
      amountTiyn: 1_500_000n,
      confirmations: 0,
      blockHash: null,
      blockHeight: null,
      rbf: false,
    }),
  );
  if (confirmations) {
    await ctx.db.sql.begin((tx) =>
      confirmPayment(tx, ctx.services.state, r.paymentId, confirmations, { hash: null, height: 5n }),
    );
  }
  return r.paymentId;
}

describe('invoices', () => {
  it('creates an invoice from the form, reading "15 000,50" as tenge', async () => {
    const { res } = await createViaForm({
      amount: '15 000,50',
      description: 'Two lattes',
      orderId: 'A-1001',
      options: ['BTC@bitcoin-regtest'],
      expiresInMinutes: '30',
    });
    expect(res.status).toBe(303);
    const id = /\/dashboard\/invoices\/(inv_[0-9a-z]{26})\?done=created/.exec(
      res.headers.get('location')!,
    )![1]!;
    const page = await c.get(`/dashboard/invoices/${id}?done=created`);
    expect(page.html).toContain('The invoice is created.');
    expect(page.html).toContain('₸15,000.50');
    expect(page.html).toContain(`${ctx.config.PUBLIC_URL}/pay/${id}`);
    const [row] = await ctx.db
      .sql`select amount_tiyn::text, order_id, merchant_id from invoices where id = ${id}`;
    expect(row).toEqual({ amount_tiyn: '1500050', order_id: 'A-1001', merchant_id: merchantId });
    const options = await ctx.db.sql`select option from payment_options where invoice_id = ${id}`;
    expect(options.map((o) => o.option)).toEqual(['BTC@bitcoin-regtest']);
  });

  it('shows every bad field and keeps what was typed', async () => {
    const { res, html } = await createViaForm({
      amount: '12,3,4',
      redirectUrl: 'javascript:alert(1)',
      description: 'Kept',
      expiresInMinutes: 'soon',
    });
    expect(res.status).toBe(422);
    expect(html).toContain('id="form-error"');
    expect(html).toMatch(/<strong>amount<\/strong>/);
    expect(html).toMatch(/<strong>redirectUrl<\/strong>/);
    expect(html).toMatch(/<strong>expiresInMinutes<\/strong>/);
    expect(html).toContain('value="Kept"');
  });

  it('filters by status and order id (exact or prefix) and pages by id', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await ctx.app.request(
        '/v1/invoices',
        jsonRequest(apiKey, { amount: '100.00', currency: 'KZT', orderId: `F-${i}` }),
      );
      ids.push(((await r.json()) as { id: string }).id);
    }
    await payFull(ids[1]!);
    const settled = await c.get('/dashboard/invoices?status=settled');
    expect(settled.html).toContain(ids[1]);
    expect(settled.html).not.toContain(ids[0]);
    const exact = await c.get('/dashboard/invoices?orderId=F-2');
    expect(exact.html).toContain(ids[2]);
    expect(exact.html).not.toContain(ids[1]);
    const prefix = await c.get(`/dashboard/invoices?orderId=${encodeURIComponent('F-*')}`);
    for (const id of ids) expect(prefix.html).toContain(id);
    // A % typed by the person is literal, not a wildcard.
    const literal = await c.get(`/dashboard/invoices?orderId=${encodeURIComponent('%*')}`);
    expect(literal.html).toContain('No invoices match.');
    // The dashboard's days are Almaty's (UTC+5): from 19:00 UTC the UTC date is a day behind.
    const today = almatyDay(new Date());
    const past = await c.get('/dashboard/invoices?to=2020-01-01');
    expect(past.html).toContain('No invoices match.');
    expect((await c.get(`/dashboard/invoices?from=2020-01-01&orderId=F-0&to=${today}`)).html).toContain(
      ids[0],
    );
    const page1 = await c.get('/dashboard/invoices?orderId=F-*');
    expect(page1.html).not.toContain('Older invoices');
  });

  it('shows an invoice: payments, confirmations, a timeline of events and webhook deliveries', async () => {
    const hook = await c.post('/dashboard/webhooks', { csrf, url: receiver.url });
    expect(hook.res.status).toBe(201);
    const { res } = await createViaForm({ amount: '15000', options: ['BTC@bitcoin-regtest'] });
    const id = /(inv_[0-9a-z]{26})/.exec(res.headers.get('location')!)![1]!;
    await payFull(id);
    await runWebhookTick(ctx.services);
    const { html } = await c.get(`/dashboard/invoices/${id}`);
    expect(html).toMatch(/id="invoice-status"><span class="badge settled">settled<\/span>/);
    expect(html).toContain('1 of 1');
    for (const t of [
      'invoice.created',
      'invoice.payment_received',
      'invoice.processing',
      'invoice.settled',
    ]) {
      expect(html).toContain(`data-event="${t}"`);
    }
    expect(html).toMatch(
      /Webhook to <span class="mono">[^<]+<\/span>: <span class="badge succeeded">succeeded<\/span>/,
    );
    expect(receiver.requests.some((r) => r.body.includes(id))).toBe(true);
    await c.post(`/dashboard/webhooks/${/whk_[0-9a-z]{26}/.exec(hook.html)![0]}/delete`, { csrf });
  });

  it('cancels a new invoice with no payment, and refuses to cancel a paid one', async () => {
    const { res } = await createViaForm({ amount: '500' });
    const id = /(inv_[0-9a-z]{26})/.exec(res.headers.get('location')!)![1]!;
    const ok = await c.post(`/dashboard/invoices/${id}/cancel`, { csrf });
    expect(ok.res.status).toBe(303);
    expect((await c.get(`/dashboard/invoices/${id}`)).html).toContain(
      '<span class="badge invalid">invalid</span>',
    );
    const paid = /(inv_[0-9a-z]{26})/.exec(
      (await createViaForm({ amount: '15000' })).res.headers.get('location')!,
    )![1]!;
    await payFull(paid);
    const refused = await c.post(`/dashboard/invoices/${paid}/cancel`, { csrf });
    expect(refused.res.status).toBe(409);
    expect(refused.html).toContain('only a new invoice can be cancelled');
  });

  it("never shows another merchant's invoice", async () => {
    const other = await createTestMerchant(ctx, { name: 'Other Shop' });
    const r = await ctx.app.request(
      '/v1/invoices',
      jsonRequest(other.apiKey.apiKey, { amount: '100.00', currency: 'KZT', orderId: 'OTHER-1' }),
    );
    const id = ((await r.json()) as { id: string }).id;
    expect((await c.get(`/dashboard/invoices/${id}`)).res.status).toBe(404);
    expect((await c.post(`/dashboard/invoices/${id}/cancel`, { csrf })).res.status).toBe(404);
    expect((await c.get('/dashboard/invoices?orderId=OTHER-1')).html).not.toContain(id);
    const csv = await c.get('/dashboard/export/invoices.csv');
    expect(csv.html).not.toContain(id);
  });
});

describe('webhooks', () => {
  it('shows the secret once, rotates it, redelivers a delivery and deletes the endpoint', async () => {
    const created = await c.post('/dashboard/webhooks', {
      csrf,
      url: receiver.url,
      events: ['invoice.created', 'invoice.settled'],
    });
    expect(created.res.status).toBe(201);
    const secret = /id="webhook-secret">(whsec_[A-Za-z0-9+/=]+)</.exec(created.html)![1]!;
    const endpointId = /whk_[0-9a-z]{26}/.exec(created.html)![0];
    receiver.secrets.push(secret);
    const list = await c.get('/dashboard/webhooks');
    expect(list.html).toContain(receiver.url);
    expect(list.html).toContain('invoice.created, invoice.settled');
    expect(list.html).not.toContain(secret);

    await ctx.app.request('/v1/invoices', jsonRequest(apiKey, { amount: '100.00', currency: 'KZT' }));
    await runWebhookTick(ctx.services);
    const ep = await c.get(`/dashboard/webhooks/${endpointId}`);
    const dlv = /data-delivery="(dlv_[0-9a-z]{26})" data-status="succeeded"/.exec(ep.html)![1]!;
    expect(receiver.requests.at(-1)!.verified.get(secret)).toBe(true);

    const again = await c.post(`/dashboard/webhooks/${endpointId}/deliveries/${dlv}/redeliver`, { csrf });
    expect(again.res.status).toBe(303);
    const [row] = await ctx.db.sql`select status from webhook_deliveries where id = ${dlv}`;
    expect(row!.status).toBe('pending');

    const rotated = await c.post(`/dashboard/webhooks/${endpointId}/rotate`, { csrf });
    const next = /id="webhook-secret">(whsec_[A-Za-z0-9+/=]+)</.exec(rotated.html)![1]!;
    expect(next).not.toBe(secret);
    expect(rotated.html).toContain('The previous one keeps signing for 24 hours.');

    const bad = await c.post('/dashboard/webhooks', { csrf, url: 'ftp://example.com/x' });
    expect(bad.res.status).toBe(422);
    expect(bad.html).toContain('id="form-error"');

    const del = await c.post(`/dashboard/webhooks/${endpointId}/delete`, { csrf });
    expect(del.res.status).toBe(303);
    expect((await c.get('/dashboard/webhooks?done=deleted')).html).not.toContain(endpointId);
  });
});

describe('API keys', () => {
  it('shows a new key once; it works on the API until revoked', async () => {
    const created = await c.post('/dashboard/keys', { csrf, label: 'web shop' });
    expect(created.res.status).toBe(201);
    const key = /id="new-api-key">(sk_test_[1-9A-HJ-NP-Za-km-z]+)</.exec(created.html)![1]!;
    const keyId = /API key (key_[0-9a-z]{26})\./.exec(created.html)![1]!;
    expect((await c.get('/dashboard/keys')).html).not.toContain(key);
    const use = () => ctx.app.request('/v1/invoices?limit=1', jsonRequest(key));
    expect((await use()).status).toBe(200);
    expect((await c.post(`/dashboard/keys/${keyId}/revoke`, { csrf })).res.status).toBe(303);
    expect((await use()).status).toBe(401);
    expect((await c.get('/dashboard/keys')).html).toMatch(new RegExp(`${keyId}[\\s\\S]*?badge revoked`));
    const [audit] = await ctx.db
      .sql`select actor from audit_log where action = 'api_key.revoked' and subject = ${keyId}`;
    expect(audit!.actor).toMatch(/^user:usr_/);
  });
});

describe('settings', () => {
  it('shows the first derived address before saving an account key', async () => {
    // BIP84 test vector m/84'/1'/0'/0/0, written for regtest.
    const tb = bech32.decode('tb1q6rz28mcfaxtmd6v789l9rrlrusdprr9pqcpvkl');
    const expected = bech32.encode('bcrt', tb.words);
    const preview = await c.post('/dashboard/settings/keys', {
      csrf,
      network: 'bitcoin-regtest',
      key: DEMO_VPUB,
    });
    expect(preview.res.status).toBe(200);
    expect(preview.html).toContain(`<code id="first-address">${expected}</code>`);
    const keyRow = async () =>
      (
        await ctx.db.sql`select key_text, first_address from merchant_keys
        where merchant_id = ${merchantId} and network = 'bitcoin-regtest'`
      )[0]!;
    const before = await keyRow();
    expect(before.key_text).not.toBe(DEMO_VPUB);
    const saved = await c.post('/dashboard/settings/keys', {
      csrf,
      network: 'bitcoin-regtest',
      key: DEMO_VPUB,
      confirm: 'yes',
    });
    expect(saved.res.status).toBe(303);
    expect((await keyRow()).first_address).toBe(expected);
    const bad = await c.post('/dashboard/settings/keys', {
      csrf,
      network: 'bitcoin-regtest',
      key: 'xpub-nonsense',
    });
    expect(bad.res.status).toBe(422);
  });

  it('saves an EVM payout address in its checksum form and refuses a broken checksum', async () => {
    const lower = '0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed';
    const ok = await c.post('/dashboard/settings/payout', { csrf, address: lower });
    expect(ok.res.status).toBe(303);
    const [m] = await ctx.db.sql`select evm_payout_address from merchants where id = ${merchantId}`;
    expect(m!.evm_payout_address).toBe('0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed');
    const broken = await c.post('/dashboard/settings/payout', {
      csrf,
      address: '0x5AAeb6053F3E94C9b9A09f33669435E7Ef1BeAed',
    });
    expect(broken.res.status).toBe(422);
    expect(broken.html).toContain('EIP-55 checksum');
  });

  it('saves the payment policy and refuses bad numbers', async () => {
    const ok = await c.post('/dashboard/settings', {
      csrf,
      speedPolicy: 'low-medium',
      tolerance: '0,5',
      expiry: '20',
      monitoring: '60',
      options: ['BTC@bitcoin-regtest', 'LTC@litecoin-regtest'],
    });
    expect(ok.res.status).toBe(303);
    const [m] = await ctx.db
      .sql`select speed_policy, payment_tolerance_bp, invoice_expiry_minutes from merchants
      where id = ${merchantId}`;
    expect(m).toEqual({ speed_policy: 'low-medium', payment_tolerance_bp: 50, invoice_expiry_minutes: 20 });
    const bad = await c.post('/dashboard/settings', {
      csrf,
      speedPolicy: 'warp',
      tolerance: '101',
      expiry: '0',
      monitoring: 'x',
    });
    expect(bad.res.status).toBe(422);
    for (const f of ['speedPolicy', 'tolerance', 'expiry', 'monitoring'])
      expect(bad.html).toContain(`<strong>${f}</strong>`);
  });

  it('holds the expiry setting to INVOICE_EXPIRY_MAX_MINUTES, as the API does, and names the range', async () => {
    const [before] = await ctx.db.sql`select invoice_expiry_minutes from merchants where id = ${merchantId}`;
    // 43200 (30 days) was accepted before: a month-long rate lock.
    const res = await c.post('/dashboard/settings', {
      csrf,
      speedPolicy: 'medium',
      tolerance: '0',
      expiry: '10081',
      monitoring: '60',
    });
    expect(res.res.status).toBe(422);
    expect(res.html).toContain('<strong>expiry</strong>');
    expect(res.html).toContain('between 1 and 10080 minutes');
    const [after] = await ctx.db.sql`select invoice_expiry_minutes from merchants where id = ${merchantId}`;
    expect(after).toEqual(before);
  });
});

describe('exports and overview', () => {
  it('exports invoices and payments as CSV, formulas neutralised', async () => {
    const { res } = await createViaForm({
      amount: '15000',
      description: '=HYPERLINK("http://x")',
      orderId: 'CSV-1',
    });
    const id = /(inv_[0-9a-z]{26})/.exec(res.headers.get('location')!)![1]!;
    // Deep enough for any speed policy the settings test may have left.
    await payFull(id, 6);
    const inv = await c.get('/dashboard/export/invoices.csv?orderId=CSV-1');
    expect(inv.res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(inv.res.headers.get('content-disposition')).toMatch(
      /^attachment; filename="invoices-\d{4}-\d{2}-\d{2}\.csv"$/,
    );
    const lines = inv.html
      .replace(/^\ufeff/, '')
      .trimEnd()
      .split('\r\n');
    expect(lines[0]).toBe(
      'id,created_at,status,additional_status,review,amount_kzt,amount_paid_kzt,currency,order_id,' +
        'description,expires_at,settled_at',
    );
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(
      new RegExp(
        `^${id},[^,]+,settled,none,none,15000\\.00,15000\\.00,KZT,CSV-1,"'=HYPERLINK\\(""http://x""\\)",`,
      ),
    );
    const pay = await c.get('/dashboard/export/payments.csv?orderId=CSV-1');
    const p = pay.html
      .replace(/^\ufeff/, '')
      .trimEnd()
      .split('\r\n');
    expect(p).toHaveLength(2);
    expect(p[1]).toMatch(
      new RegExp(
        `^${id},CSV-1,pay_[0-9a-z]{26},BTC@bitcoin-regtest,[0-9a-f]{64},0,` +
          '0\\.0003,30000,15000\\.00,6,confirmed,',
      ),
    );
  });

  it('draws the last 30 days of volume on the overview, today’s bar holding today’s payments', async () => {
    const { html } = await c.get('/dashboard');
    const bars = [...html.matchAll(/<rect class="bar"[^>]*data-day="([0-9-]+)" data-tiyn="([0-9]+)"/g)];
    expect(bars).toHaveLength(30);
    const [sum] = await ctx.db.sql<
      { s: string }[]
    >`select coalesce(sum(p.amount_tiyn), 0)::text as s from payments p
      join invoices i on i.id = p.invoice_id where i.merchant_id = ${merchantId} and i.status <> 'invalid'`;
    expect(bars.at(-1)![2]).toBe(sum!.s);
    expect(decode(html)).toContain('Daily volume in tenge, last 30 days');
  });
});

describe('another user of the same merchant', () => {
  it('sees the same invoices', async () => {
    await createDashboardUser(ctx.db.sql, {
      merchantId,
      email: 'second@kofe.kz',
      password: PASSWORD,
      scryptLogN: 10,
    });
    const second = client(ctx);
    await signIn(second, 'second@kofe.kz');
    const mine = await c.get('/dashboard/invoices');
    const theirs = await second.get('/dashboard/invoices');
    const ids = (h: string) => [...h.matchAll(/data-invoice="(inv_[0-9a-z]{26})"/g)].map((m) => m[1]);
    expect(ids(theirs.html)).toEqual(ids(mine.html));
  });
});
