// The state machine against a real database: every transition of SPEC section 5 with its outbox event
// and audit entry, written in the caller's transaction; payments counted once under concurrency.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAuditChain } from '../../src/audit/log';
import type { NetworkId } from '../../src/chains/networks';
import type { Tx } from '../../src/db/client';
import { type Invoice, loadInvoice, type SpeedPolicy } from '../../src/invoices/repository';
import {
  cancelInvoice,
  confirmPayment,
  expireDue,
  holdForReview,
  markPaymentGone,
  type ObservedPayment,
  recordPayment,
  requiredConfirmations,
  type StateDeps,
  setReview,
} from '../../src/invoices/state';
import { ConflictError, NotFoundError } from '../../src/lib/errors';
import { newId, randomHex } from '../../src/lib/ids';
import { createMerchant } from '../../src/merchants/repository';
import { freshDatabase, type TestDatabase, usingRealPostgres } from '../helpers/db';

const DUE = 1_500_000n;
const deps: StateDeps = { publicUrl: 'http://gateway.test' };
let db: TestDatabase;
let merchantId: string;
let otherMerchantId: string;

beforeAll(async () => {
  db = await freshDatabase();
  merchantId = (await createMerchant(db.sql, { name: 'State Shop', mode: 'test' })).merchant.id;
  otherMerchantId = (await createMerchant(db.sql, { name: 'Other Shop', mode: 'test' })).merchant.id;
});
afterAll(async () => {
  // Everything this file did left an intact audit chain.
  const v = await verifyAuditChain(db.sql);
  expect(v.ok).toBe(true);
  await db.close();
});

interface InvoiceSetup {
  amountTiyn?: bigint;
  speedPolicy?: SpeedPolicy;
  toleranceBp?: number;
  expiresAt?: Date;
}

async function newInvoice(s: InvoiceSetup = {}): Promise<string> {
  const id = newId('inv');
  const expiresAt = s.expiresAt ?? new Date(Date.now() + 15 * 60_000);
  await db.sql`insert into invoices (id, merchant_id, amount_tiyn, speed_policy, payment_tolerance_bp,
      expires_at, monitoring_until)
    values (${id}, ${merchantId}, ${(s.amountTiyn ?? DUE).toString()}, ${s.speedPolicy ?? 'medium'},
      ${s.toleranceBp ?? 0}, ${expiresAt}, ${new Date(expiresAt.getTime() + 86_400_000)})`;
  return id;
}

function observed(
  invoiceId: string,
  amountTiyn: bigint,
  over: Partial<ObservedPayment> = {},
): ObservedPayment {
  return {
    invoiceId,
    option: 'BTC@bitcoin-regtest',
    network: 'bitcoin-regtest',
    txid: randomHex(32),
    outputIndex: 0,
    fromAddresses: ['bcrt1qsender'],
    amountAtomic: amountTiyn * 2n,
    amountTiyn,
    confirmations: 0,
    blockHash: null,
    blockHeight: null,
    rbf: false,
    ...over,
  };
}

const record = (p: ObservedPayment, opts: { now?: Date } = {}) =>
  db.sql.begin((tx) => recordPayment(tx, deps, p, opts));
const confirm = (paymentId: string, confs: number, opts: { now?: Date } = {}) =>
  db.sql.begin((tx) =>
    confirmPayment(
      tx,
      deps,
      paymentId,
      confs,
      { hash: confs > 0 ? randomHex(32) : null, height: confs > 0 ? 100n : null },
      opts,
    ),
  );
const gone = (paymentId: string, reason: 'reorged' | 'replaced' = 'reorged') =>
  db.sql.begin((tx) => markPaymentGone(tx, deps, paymentId, reason));

interface Event {
  type: string;
  seq: number;
  payload: {
    type: string;
    data: { sequence: number; invoice: { status: string; additionalStatus: string } } & Record<
      string,
      unknown
    >;
  };
}

async function eventsOf(invoiceId: string): Promise<Event[]> {
  return (await db.sql`select type, seq, payload from outbox where invoice_id = ${invoiceId} order by id`) as never;
}
async function typesOf(invoiceId: string): Promise<string[]> {
  return (await eventsOf(invoiceId)).map((e) => e.type);
}
async function auditsOf(invoiceId: string) {
  return db.sql<{ action: string; actor: string; data: Record<string, unknown> }[]>`
    select action, actor, data from audit_log where subject = ${invoiceId} order by id`;
}
async function statusChanges(invoiceId: string): Promise<string[]> {
  return (await auditsOf(invoiceId))
    .filter((a) => a.action === 'invoice.status_changed')
    .map((a) => `${a.data.from}→${a.data.to}`);
}
async function load(id: string): Promise<Invoice> {
  return (await loadInvoice(db.sql, id))!;
}
async function count(table: 'payments' | 'outbox' | 'audit_log', invoiceId?: string): Promise<number> {
  const col = table === 'audit_log' ? db.sql`subject` : db.sql`invoice_id`;
  const [r] = invoiceId
    ? await db.sql`select count(*)::int as n from ${db.sql(table)} where ${col} = ${invoiceId}`
    : await db.sql`select count(*)::int as n from ${db.sql(table)}`;
  return r!.n as number;
}

/** Events carry a per-invoice sequence 1, 2, 3… equal to the invoice's counter and the payload's. */
async function expectSequenced(invoiceId: string): Promise<void> {
  const events = await eventsOf(invoiceId);
  expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
  for (const e of events) {
    expect(e.payload.type).toBe(e.type);
    expect(e.payload.data.sequence).toBe(e.seq);
  }
  const [row] = await db.sql`select event_seq from invoices where id = ${invoiceId}`;
  expect(row!.event_seq).toBe(events.length);
}

describe('payments and amounts', () => {
  it('a full payment in the mempool → processing, with payment_received then processing', async () => {
    const id = await newInvoice();
    const r = await record(observed(id, DUE));
    expect(r.isNew).toBe(true);
    expect(r.invoice).toMatchObject({ status: 'processing', additionalStatus: 'none', amountPaidTiyn: DUE });
    expect(await typesOf(id)).toEqual(['invoice.payment_received', 'invoice.processing']);
    const [received, processing] = await eventsOf(id);
    expect(received!.payload.data.paymentId).toBe(r.paymentId);
    expect(processing!.payload.data.invoice.status).toBe('processing');
    expect(await statusChanges(id)).toEqual(['new→processing']);
    await expectSequenced(id);
  });

  it('partial → new + paid_partial (no status event, no audit); top-up → processing', async () => {
    const id = await newInvoice();
    const a = await record(observed(id, 600_000n));
    expect(a.invoice).toMatchObject({
      status: 'new',
      additionalStatus: 'paid_partial',
      amountPaidTiyn: 600_000n,
    });
    expect(await typesOf(id)).toEqual(['invoice.payment_received']);
    expect(await statusChanges(id)).toEqual([]);
    const b = await record(observed(id, 900_000n));
    expect(b.invoice).toMatchObject({ status: 'processing', additionalStatus: 'none', amountPaidTiyn: DUE });
    expect(await typesOf(id)).toEqual([
      'invoice.payment_received',
      'invoice.payment_received',
      'invoice.processing',
    ]);
    expect(await statusChanges(id)).toEqual(['new→processing']);
    await expectSequenced(id);
  });

  it('overpayment → processing + paid_over', async () => {
    const id = await newInvoice();
    const r = await record(observed(id, DUE + 1n));
    expect(r.invoice).toMatchObject({
      status: 'processing',
      additionalStatus: 'paid_over',
      amountPaidTiyn: DUE + 1n,
    });
    expect((await load(id)).additionalStatus).toBe('paid_over');
  });

  it('tolerance: 1 % (100 bp) — paying 99 % is processing, a tiyn less is partial', async () => {
    const ok = await newInvoice({ toleranceBp: 100 });
    expect((await record(observed(ok, (DUE * 99n) / 100n))).invoice.status).toBe('processing');
    const short = await newInvoice({ toleranceBp: 100 });
    expect((await record(observed(short, (DUE * 99n) / 100n - 1n))).invoice).toMatchObject({
      status: 'new',
      additionalStatus: 'paid_partial',
    });
  });

  it('refuses a payment for an unknown invoice, and confirmations for an unknown payment', async () => {
    await expect(record(observed(newId('inv'), DUE))).rejects.toBeInstanceOf(NotFoundError);
    await expect(confirm(newId('pay'), 1)).rejects.toBeInstanceOf(NotFoundError);
    await expect(gone(newId('pay'))).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe('confirmations per speed policy', () => {
  const cases: [SpeedPolicy, NetworkId, string, boolean][] = [
    ['high', 'bitcoin-regtest', 'BTC@bitcoin-regtest', false],
    ['high', 'bitcoin-regtest', 'BTC@bitcoin-regtest', true],
    ['high', 'anvil', 'ETH@anvil', false],
    ['medium', 'litecoin-regtest', 'LTC@litecoin-regtest', false],
    ['low-medium', 'bitcoin-regtest', 'BTC@bitcoin-regtest', false],
    ['low', 'bitcoin-regtest', 'BTC@bitcoin-regtest', false],
  ];

  it.each(cases)(
    '%s on %s (%s, rbf %s) settles at exactly its confirmations',
    async (policy, network, option, rbf) => {
      const needed = requiredConfirmations(policy, network, rbf);
      const id = await newInvoice({ speedPolicy: policy });
      const r = await record(
        observed(id, DUE, { network, option, rbf, outputIndex: network === 'anvil' ? -1 : 0 }),
      );
      if (needed === 0) {
        expect(r.invoice.status).toBe('settled');
        expect(await typesOf(id)).toEqual(['invoice.payment_received', 'invoice.settled']);
      } else {
        expect(r.invoice.status).toBe('processing');
        for (let c = 1; c < needed; c++) expect((await confirm(r.paymentId, c)).status).toBe('processing');
        const settled = await confirm(r.paymentId, needed);
        expect(settled.status).toBe('settled');
        expect(settled.settledAt).not.toBeNull();
        expect(settled.payments[0]).toMatchObject({ status: 'confirmed', confirmations: needed });
        expect(settled.payments[0]!.confirmedAt).not.toBeNull();
        expect(await typesOf(id)).toEqual([
          'invoice.payment_received',
          'invoice.processing',
          'invoice.settled',
        ]);
      }
      // More blocks change nothing and write nothing.
      const before = await count('outbox', id);
      expect((await confirm(r.paymentId, needed + 3)).status).toBe('settled');
      expect(await count('outbox', id)).toBe(before);
      await expectSequenced(id);
    },
  );
});

describe('review', () => {
  it('held blocks settling, released settles', async () => {
    const id = await newInvoice();
    const r = await record(observed(id, DUE));
    const held = await db.sql.begin((tx) =>
      setReview(tx, deps, id, 'held', { actor: 'aml', reason: 'screening' }),
    );
    expect(held).toMatchObject({ status: 'processing', review: 'held' });
    expect((await confirm(r.paymentId, 3)).status).toBe('processing');
    // The same review twice writes nothing.
    const n = await count('outbox', id);
    await db.sql.begin((tx) => setReview(tx, deps, id, 'held'));
    expect(await count('outbox', id)).toBe(n);
    const released = await db.sql.begin((tx) => setReview(tx, deps, id, 'released', { actor: 'reg_1' }));
    expect(released).toMatchObject({ status: 'settled', review: 'released' });
    expect(await typesOf(id)).toEqual([
      'invoice.payment_received',
      'invoice.processing',
      'invoice.held',
      'invoice.released',
      'invoice.settled',
    ]);
    const audits = await auditsOf(id);
    expect(audits.map((a) => a.action)).toEqual([
      'invoice.status_changed',
      'invoice.review_held',
      'invoice.review_released',
      'invoice.status_changed',
    ]);
    expect(audits[1]).toMatchObject({
      actor: 'aml',
      data: { from: 'none', to: 'held', reason: 'screening' },
    });
    await expectSequenced(id);
  });

  // The screen hook runs before the state is derived: a payment that could settle at its first
  // sighting (0-conf `high`, or already confirmed) is held in the same step and never settles first.
  for (const c of [
    { name: '0-conf under the high speed policy', speedPolicy: 'high' as const, confirmations: 0 },
    { name: 'already 6 confirmations deep', speedPolicy: 'medium' as const, confirmations: 6 },
  ]) {
    it(`a hold from the screen hook at first sighting: ${c.name} → held, never settled first`, async () => {
      // Without a hold the same payment settles at once: the case below is a real one.
      const control = await newInvoice({ speedPolicy: c.speedPolicy });
      const free = await db.sql.begin((tx) =>
        recordPayment(tx, deps, observed(control, DUE, { confirmations: c.confirmations }), {
          screen: async () => ({ held: false }),
        }),
      );
      expect(free.invoice.status).toBe('settled');

      const id = await newInvoice({ speedPolicy: c.speedPolicy });
      const p = observed(id, DUE, { confirmations: c.confirmations });
      const seen: string[] = [];
      const screen = async (tx: Tx, paymentId: string) => {
        seen.push(paymentId);
        // What the hook sees: the payment is written, the invoice not yet re-derived.
        const [inv] = await tx`select status from invoices where id = ${id}`;
        expect(inv!.status).toBe('new');
        return { held: await holdForReview(tx, id, { actor: 'aml', reason: 'screening' }) };
      };
      const r = await db.sql.begin((tx) => recordPayment(tx, deps, p, { screen }));
      expect(r.invoice).toMatchObject({ status: 'processing', review: 'held' });
      expect(seen).toEqual([r.paymentId]);
      expect(await typesOf(id)).toEqual(['invoice.payment_received', 'invoice.held', 'invoice.processing']);
      expect(await statusChanges(id)).toEqual(['new→processing']);

      // A re-sighting is not screened again, and more confirmations do not settle a held invoice.
      const again = await db.sql.begin((tx) =>
        recordPayment(tx, deps, { ...p, confirmations: c.confirmations + 3 }, { screen }),
      );
      expect(again).toMatchObject({ isNew: false, invoice: { status: 'processing' } });
      expect(seen).toHaveLength(1);

      await db.sql.begin((tx) => setReview(tx, deps, id, 'released', { actor: 'reg_1' }));
      const types = await typesOf(id);
      expect(types.filter((t) => t === 'invoice.settled')).toHaveLength(1);
      expect(types.slice(-2)).toEqual(['invoice.released', 'invoice.settled']);
      await expectSequenced(id);
    });
  }

  it('holdForReview leaves an invoice already held or rejected alone', async () => {
    const id = await newInvoice();
    await record(observed(id, DUE));
    expect(await db.sql.begin((tx) => holdForReview(tx, id))).toBe(true);
    expect(await db.sql.begin((tx) => holdForReview(tx, id))).toBe(false);
    await db.sql.begin((tx) => setReview(tx, deps, id, 'rejected'));
    expect(await db.sql.begin((tx) => holdForReview(tx, id))).toBe(false);
    expect((await load(id)).review).toBe('rejected');
  });

  it('rejected → invalid, and stays rejected', async () => {
    const id = await newInvoice();
    await record(observed(id, DUE));
    await db.sql.begin((tx) => setReview(tx, deps, id, 'held'));
    const rejected = await db.sql.begin((tx) => setReview(tx, deps, id, 'rejected', { actor: 'reg_1' }));
    expect(rejected).toMatchObject({ status: 'invalid', review: 'rejected' });
    expect((await typesOf(id)).slice(-2)).toEqual(['invoice.held', 'invoice.invalid']);
    expect(await statusChanges(id)).toEqual(['new→processing', 'processing→invalid']);
    await expect(db.sql.begin((tx) => setReview(tx, deps, id, 'released'))).rejects.toMatchObject({
      code: 'review_closed',
    });
    expect((await load(id)).review).toBe('rejected');
    await expectSequenced(id);
  });
});

describe('expiry', () => {
  const later = () => new Date(Date.now() + 20 * 60_000);

  it('an unpaid invoice expires once; a payment after expiry → expired + paid_late', async () => {
    const id = await newInvoice();
    const now = later();
    await expireDue(db.sql, deps, { now });
    expect(await load(id)).toMatchObject({ status: 'expired', additionalStatus: 'none' });
    expect(await typesOf(id)).toEqual(['invoice.expired']);
    expect(await statusChanges(id)).toEqual(['new→expired']);
    await expireDue(db.sql, deps, { now });
    expect(await typesOf(id)).toEqual(['invoice.expired']);

    const r = await record(observed(id, DUE, { seenAt: now }), { now });
    expect(r.invoice).toMatchObject({
      status: 'expired',
      additionalStatus: 'paid_late',
      amountPaidTiyn: DUE,
    });
    expect(await typesOf(id)).toEqual(['invoice.expired', 'invoice.payment_received']);
    expect(await statusChanges(id)).toEqual(['new→expired']);
    // Even fully confirmed, a late payment does not settle the invoice.
    expect((await confirm(r.paymentId, 6, { now })).status).toBe('expired');
    await expectSequenced(id);
  });

  it('a late payment the tick has not seen yet expires the invoice as paid_late', async () => {
    const id = await newInvoice();
    const now = later();
    const r = await record(observed(id, DUE, { seenAt: now }), { now });
    expect(r.invoice).toMatchObject({ status: 'expired', additionalStatus: 'paid_late' });
    expect(await typesOf(id)).toEqual(['invoice.payment_received', 'invoice.expired']);
  });

  it('partial before expiry + top-up after → expired + paid_late', async () => {
    const id = await newInvoice();
    expect((await record(observed(id, DUE / 2n))).invoice.additionalStatus).toBe('paid_partial');
    const now = later();
    expect(await expireDue(db.sql, deps, { now })).toBeGreaterThanOrEqual(1);
    expect(await load(id)).toMatchObject({ status: 'expired', additionalStatus: 'paid_partial' });
    const r = await record(observed(id, DUE / 2n, { seenAt: now }), { now });
    expect(r.invoice).toMatchObject({
      status: 'expired',
      additionalStatus: 'paid_late',
      amountPaidTiyn: DUE,
    });
  });

  it('a paid (processing) invoice is not expired by the tick', async () => {
    const id = await newInvoice();
    await record(observed(id, DUE));
    await expireDue(db.sql, deps, { now: later() });
    expect((await load(id)).status).toBe('processing');
    expect(await typesOf(id)).not.toContain('invoice.expired');
  });

  it('two concurrent ticks expire each due invoice exactly once (SKIP LOCKED)', async () => {
    const past = new Date(Date.now() - 60_000);
    const due = await Promise.all(Array.from({ length: 24 }, () => newInvoice({ expiresAt: past })));
    const notYet = await Promise.all(Array.from({ length: 3 }, () => newInvoice()));
    const now = new Date();
    const [a, b] = await Promise.all([
      expireDue(db.sql, deps, { now, batch: 100 }),
      expireDue(db.sql, deps, { now, batch: 100 }),
    ]);
    expect(a + b).toBe(24);
    for (const id of due) expect(await typesOf(id)).toEqual(['invoice.expired']);
    for (const id of notYet) expect((await load(id)).status).toBe('new');
    expect(await expireDue(db.sql, deps, { now })).toBe(0);
  });

  it('the tick works in batches and skips rows another transaction holds, without waiting', async () => {
    const past = new Date(Date.now() - 60_000);
    const ids = await Promise.all(Array.from({ length: 7 }, () => newInvoice({ expiresAt: past })));
    const now = new Date();
    if (usingRealPostgres()) {
      // The embedded database runs one transaction at a time, so a held lock can only be shown here.
      let release!: () => void;
      const hold = new Promise<void>((r) => {
        release = r;
      });
      let locked!: () => void;
      const isLocked = new Promise<void>((r) => {
        locked = r;
      });
      const holder = db.sql.begin(async (tx) => {
        await tx`select id from invoices where id in ${tx(ids.slice(0, 2))} for update`;
        locked();
        await hold;
      });
      await isLocked;
      expect(await expireDue(db.sql, deps, { now, batch: 100 })).toBe(5);
      release();
      await holder;
    }
    let total = 0;
    for (;;) {
      const n = await expireDue(db.sql, deps, { now, batch: 2 });
      expect(n).toBeLessThanOrEqual(2);
      if (n === 0) break;
      total += n;
    }
    expect(total).toBe(usingRealPostgres() ? 2 : 7);
    for (const id of ids) expect(await typesOf(id)).toEqual(['invoice.expired']);
  });
});

describe('payments leaving the chain', () => {
  it('processing → new when the payment is reorged, with payment.reorged', async () => {
    const id = await newInvoice();
    const r = await record(observed(id, DUE));
    const after = await gone(r.paymentId);
    expect(after).toMatchObject({ status: 'new', additionalStatus: 'none', amountPaidTiyn: 0n });
    expect(after!.payments[0]).toMatchObject({ status: 'reorged', confirmations: 0 });
    expect(await typesOf(id)).toEqual(['invoice.payment_received', 'invoice.processing', 'payment.reorged']);
    const reorged = (await eventsOf(id))[2]!;
    expect(reorged.payload.data).toMatchObject({ paymentId: r.paymentId, reason: 'reorged' });
    expect(reorged.payload.data.invoice.status).toBe('new');
    const audits = await auditsOf(id);
    expect(audits.at(-1)!.data).toMatchObject({ from: 'processing', to: 'new' });
    expect(String(audits.at(-1)!.data.reason)).toContain('reorged');
    // A second report of the same loss changes nothing.
    expect(await gone(r.paymentId)).toBeUndefined();
    expect(await count('outbox', id)).toBe(3);
    await expectSequenced(id);
  });

  it('settled → new when the settling payment is replaced; re-mined, it counts once', async () => {
    const id = await newInvoice();
    const p = observed(id, DUE, { confirmations: 1, blockHash: randomHex(32), blockHeight: 100n });
    const first = await record(p);
    expect(first.invoice.status).toBe('settled');
    expect((await gone(first.paymentId, 'replaced'))!.status).toBe('new');
    // The same (network, txid, index) mined again: same payment row, not a second credit.
    const again = await record({ ...p, confirmations: 1, blockHash: randomHex(32), blockHeight: 101n });
    expect(again.isNew).toBe(false);
    expect(again.paymentId).toBe(first.paymentId);
    expect(again.invoice).toMatchObject({ status: 'settled', amountPaidTiyn: DUE, additionalStatus: 'none' });
    expect(await count('payments', id)).toBe(1);
    expect(await typesOf(id)).toEqual([
      'invoice.payment_received',
      'invoice.settled',
      'payment.reorged',
      'invoice.settled',
    ]);
    expect(await statusChanges(id)).toEqual(['new→settled', 'settled→new', 'new→settled']);
    await expectSequenced(id);
  });

  it('settled → processing when only unconfirmed money is left', async () => {
    const id = await newInvoice();
    const a = await record(observed(id, DUE, { confirmations: 1 }));
    expect(a.invoice.status).toBe('settled');
    const b = await record(observed(id, DUE));
    expect(b.invoice).toMatchObject({ status: 'settled', additionalStatus: 'paid_over' });
    const after = await gone(a.paymentId);
    expect(after).toMatchObject({ status: 'processing', additionalStatus: 'none', amountPaidTiyn: DUE });
    expect(await statusChanges(id)).toEqual(['new→settled', 'settled→processing']);
    expect((await typesOf(id)).slice(-2)).toEqual(['payment.reorged', 'invoice.processing']);
    expect((await confirm(b.paymentId, 1)).status).toBe('settled');
  });

  it('the same payment reported again (re-scan) updates it and credits nothing', async () => {
    const id = await newInvoice();
    const p = observed(id, 700_000n);
    const a = await record(p);
    const b = await record({ ...p, confirmations: 2, blockHash: randomHex(32), blockHeight: 7n });
    expect(b.isNew).toBe(false);
    expect(b.paymentId).toBe(a.paymentId);
    expect(b.invoice).toMatchObject({
      status: 'new',
      additionalStatus: 'paid_partial',
      amountPaidTiyn: 700_000n,
    });
    expect(b.invoice.payments[0]).toMatchObject({ confirmations: 2, status: 'confirmed', blockHeight: 7n });
    expect(await typesOf(id)).toEqual(['invoice.payment_received']);
  });

  it('the same payment recorded by two watchers at once is one row and one event', async () => {
    const id = await newInvoice();
    const p = observed(id, DUE);
    const results = await Promise.all([record(p), record(p), record(p)]);
    expect(results.filter((r) => r.isNew)).toHaveLength(1);
    expect(new Set(results.map((r) => r.paymentId)).size).toBe(1);
    expect(await count('payments', id)).toBe(1);
    expect(await typesOf(id)).toEqual(['invoice.payment_received', 'invoice.processing']);
    expect((await load(id)).amountPaidTiyn).toBe(DUE);
    await expectSequenced(id);
  });

  it('two different payments at once both count', async () => {
    const id = await newInvoice();
    await Promise.all([record(observed(id, DUE / 2n)), record(observed(id, DUE / 2n))]);
    expect(await load(id)).toMatchObject({ status: 'processing', amountPaidTiyn: DUE });
    expect(await typesOf(id)).toEqual([
      'invoice.payment_received',
      'invoice.payment_received',
      'invoice.processing',
    ]);
    await expectSequenced(id);
  });
});

describe('cancel', () => {
  const cancel = (id: string, merchant = merchantId) =>
    db.sql.begin((tx) => cancelInvoice(tx, deps, id, merchant, { actor: `merchant:${merchant}` }));

  it('cancels a new invoice with no payment → invalid, one event, one audit entry', async () => {
    const id = await newInvoice();
    const inv = await cancel(id);
    expect(inv).toMatchObject({ status: 'invalid', cancelled: true, additionalStatus: 'none' });
    expect(await typesOf(id)).toEqual(['invoice.invalid']);
    const audits = await auditsOf(id);
    expect(audits).toHaveLength(1);
    expect(audits[0]).toMatchObject({
      actor: `merchant:${merchantId}`,
      data: { from: 'new', to: 'invalid', reason: 'cancelled by the merchant' },
    });
    await expect(cancel(id)).rejects.toMatchObject({ code: 'invoice_not_cancellable', status: 409 });
  });

  it('refuses an invoice with a payment, a processing, an expired one, and another merchant’s', async () => {
    const partial = await newInvoice();
    await record(observed(partial, 1000n));
    await expect(cancel(partial)).rejects.toBeInstanceOf(ConflictError);
    const processing = await newInvoice();
    await record(observed(processing, DUE));
    await expect(cancel(processing)).rejects.toMatchObject({ code: 'invoice_not_cancellable' });
    const expired = await newInvoice({ expiresAt: new Date(Date.now() - 1000) });
    await expireDue(db.sql, deps);
    expect((await load(expired)).status).toBe('expired');
    await expect(cancel(expired)).rejects.toMatchObject({ code: 'invoice_not_cancellable' });
    const mine = await newInvoice();
    await expect(cancel(mine, otherMerchantId)).rejects.toMatchObject({
      code: 'invoice_not_found',
      status: 404,
    });
    expect((await load(mine)).status).toBe('new');
    expect(await count('outbox', mine)).toBe(0);
  });
});

describe('one transaction', () => {
  async function snapshot(id: string) {
    const inv = await load(id);
    return {
      status: inv.status,
      additional: inv.additionalStatus,
      review: inv.review,
      cancelled: inv.cancelled,
      paid: inv.amountPaidTiyn,
      seq: inv.eventSeq,
      payments: inv.payments.map((p) => `${p.id}:${p.status}:${p.confirmations}`),
      outbox: await count('outbox'),
      audit: await count('audit_log'),
      paymentsTotal: await count('payments'),
    };
  }
  const boom = new Error('crash after the state change');

  it('a failure after recordPayment in the same transaction leaves nothing behind', async () => {
    const id = await newInvoice();
    const before = await snapshot(id);
    await expect(
      db.sql.begin(async (tx) => {
        const r = await recordPayment(tx, deps, observed(id, DUE));
        expect(r.invoice.status).toBe('processing'); // it did change, inside the transaction
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(await snapshot(id)).toEqual(before);
  });

  it('the same for confirm, reorg, review and cancel', async () => {
    const id = await newInvoice();
    const r = await record(observed(id, DUE));
    const before = await snapshot(id);
    const attempts = [
      (tx: Tx) => confirmPayment(tx, deps, r.paymentId, 1, { hash: 'h', height: 1n }),
      (tx: Tx) => markPaymentGone(tx, deps, r.paymentId, 'replaced'),
      (tx: Tx) => setReview(tx, deps, id, 'rejected'),
    ];
    for (const step of attempts) {
      await expect(
        db.sql.begin(async (tx) => {
          await step(tx);
          throw boom;
        }),
      ).rejects.toBe(boom);
      expect(await snapshot(id)).toEqual(before);
    }
    const fresh = await newInvoice();
    const beforeCancel = await snapshot(fresh);
    await expect(
      db.sql.begin(async (tx) => {
        await cancelInvoice(tx, deps, fresh, merchantId);
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(await snapshot(fresh)).toEqual(beforeCancel);
  });
});
