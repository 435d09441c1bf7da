// deriveState is pure: every rule of SPEC section 5 on synthetic invoices, then a property test
// against an oracle written from the SPEC's words.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { NetworkId } from '../../src/chains/networks';
import type {
  Invoice,
  InvoiceStatus,
  Payment,
  PaymentStatus,
  ReviewStatus,
  SpeedPolicy,
} from '../../src/invoices/repository';
import { CONFIRMATIONS, deriveState, isCounted, requiredConfirmations } from '../../src/invoices/state';

const T0 = Date.UTC(2026, 6, 31, 10, 0, 0);
const EXPIRES = new Date(T0 + 15 * 60_000);
const BEFORE = new Date(T0 + 5 * 60_000);
const AFTER = new Date(T0 + 20 * 60_000);
const DUE = 1_500_000n; // 15000.00 KZT

let seq = 0;
function pay(amountTiyn: bigint, over: Partial<Payment> = {}): Payment {
  seq++;
  return {
    id: `pay_${seq}`,
    option: 'BTC@bitcoin-regtest',
    network: 'bitcoin-regtest',
    txid: seq.toString(16).padStart(64, '0'),
    outputIndex: 0,
    fromAddresses: [],
    amountAtomic: amountTiyn,
    amountTiyn,
    confirmations: 0,
    blockHash: null,
    blockHeight: null,
    rbf: false,
    status: 'seen',
    seenAt: new Date(T0 + 60_000),
    confirmedAt: null,
    ...over,
  };
}

function inv(over: Partial<Invoice> = {}): Invoice {
  return {
    id: 'inv_test',
    merchantId: 'mer_test',
    status: 'new',
    additionalStatus: 'none',
    review: 'none',
    amountTiyn: DUE,
    currency: 'KZT',
    amountPaidTiyn: 0n,
    orderId: null,
    description: null,
    metadata: {},
    redirectUrl: null,
    buyerEmail: null,
    speedPolicy: 'medium',
    paymentToleranceBp: 0,
    cancelled: false,
    expiresAt: EXPIRES,
    monitoringUntil: new Date(EXPIRES.getTime() + 86_400_000),
    settledAt: null,
    eventSeq: 0,
    createdAt: new Date(T0),
    updatedAt: new Date(T0),
    options: [],
    payments: [],
    ...over,
  };
}

const derive = (i: Invoice, now = BEFORE) => deriveState(i, now);

describe('deriveState: no payment', () => {
  it('is new before expiry and expired at and after it', () => {
    expect(derive(inv())).toEqual({ status: 'new', additionalStatus: 'none', amountPaidTiyn: 0n });
    expect(derive(inv(), EXPIRES).status).toBe('expired');
    expect(derive(inv(), AFTER)).toEqual({ status: 'expired', additionalStatus: 'none', amountPaidTiyn: 0n });
    expect(derive(inv(), new Date(EXPIRES.getTime() - 1)).status).toBe('new');
  });

  it('a 100 % tolerance does not turn an unpaid invoice into a paid one', () => {
    const i = inv({ paymentToleranceBp: 10_000 });
    expect(derive(i).status).toBe('new');
    expect(derive(i, AFTER).status).toBe('expired');
    expect(derive(inv({ paymentToleranceBp: 10_000, amountTiyn: 1n })).status).toBe('new');
  });

  it('a cancelled invoice is invalid, before and after expiry', () => {
    expect(derive(inv({ cancelled: true }))).toEqual({
      status: 'invalid',
      additionalStatus: 'none',
      amountPaidTiyn: 0n,
    });
    expect(derive(inv({ cancelled: true }), AFTER).status).toBe('invalid');
  });
});

describe('deriveState: amounts', () => {
  it('partial → new + paid_partial, with the amount paid', () => {
    expect(derive(inv({ payments: [pay(500_000n)] }))).toEqual({
      status: 'new',
      additionalStatus: 'paid_partial',
      amountPaidTiyn: 500_000n,
    });
  });

  it('partial then top-up → processing', () => {
    const d = derive(inv({ payments: [pay(500_000n), pay(1_000_000n)] }));
    expect(d).toEqual({ status: 'processing', additionalStatus: 'none', amountPaidTiyn: DUE });
  });

  it('one tiyn short stays new + paid_partial; exact is processing; one more is paid_over', () => {
    expect(derive(inv({ payments: [pay(DUE - 1n)] }))).toMatchObject({
      status: 'new',
      additionalStatus: 'paid_partial',
    });
    expect(derive(inv({ payments: [pay(DUE)] }))).toMatchObject({
      status: 'processing',
      additionalStatus: 'none',
    });
    expect(derive(inv({ payments: [pay(DUE + 1n)] }))).toEqual({
      status: 'processing',
      additionalStatus: 'paid_over',
      amountPaidTiyn: DUE + 1n,
    });
  });

  it('overpayment stays paid_over once settled', () => {
    const d = derive(inv({ payments: [pay(2n * DUE, { confirmations: 1, status: 'confirmed' })] }));
    expect(d).toEqual({ status: 'settled', additionalStatus: 'paid_over', amountPaidTiyn: 2n * DUE });
  });

  it('tolerance: 1 % (100 bp) accepts 99 %, not a tiyn less', () => {
    const min = DUE - DUE / 100n;
    const i = (amount: bigint) => inv({ paymentToleranceBp: 100, payments: [pay(amount)] });
    expect(derive(i(min))).toEqual({ status: 'processing', additionalStatus: 'none', amountPaidTiyn: min });
    expect(derive(i(min - 1n))).toMatchObject({ status: 'new', additionalStatus: 'paid_partial' });
    expect(derive(i(min), AFTER).status).toBe('processing');
    expect(derive(i(min - 1n), AFTER)).toMatchObject({ status: 'expired', additionalStatus: 'paid_partial' });
  });

  it('tolerance 0.5 % on an odd amount rounds in the merchant’s favour', () => {
    // 0.5 % of 999 tiyn is 4.995: the tolerance is 4 tiyn, so 995 is the least accepted.
    const i = (amount: bigint) => inv({ amountTiyn: 999n, paymentToleranceBp: 50, payments: [pay(amount)] });
    expect(derive(i(995n)).status).toBe('processing');
    expect(derive(i(994n)).status).toBe('new');
  });
});

describe('deriveState: payments that do not count', () => {
  it.each<PaymentStatus>(['reorged', 'replaced'])('a %s payment counts for nothing', (status) => {
    expect(isCounted({ status })).toBe(false);
    const i = inv({ payments: [pay(DUE, { status })] });
    expect(derive(i)).toEqual({ status: 'new', additionalStatus: 'none', amountPaidTiyn: 0n });
    expect(derive(i, AFTER).status).toBe('expired');
  });

  it('seen and confirmed payments count', () => {
    expect(isCounted({ status: 'seen' })).toBe(true);
    expect(isCounted({ status: 'confirmed' })).toBe(true);
  });

  it('a processing invoice whose payment left the chain goes back to new (or expired after expiry)', () => {
    const gone = pay(DUE, { status: 'reorged' });
    expect(derive(inv({ status: 'processing', payments: [gone] })).status).toBe('new');
    expect(derive(inv({ status: 'processing', payments: [gone] }), AFTER).status).toBe('expired');
  });

  it('a settled invoice whose only payment left the chain goes back to new', () => {
    const gone = pay(DUE, { status: 'reorged' });
    expect(derive(inv({ status: 'settled', payments: [gone] }))).toEqual({
      status: 'new',
      additionalStatus: 'none',
      amountPaidTiyn: 0n,
    });
  });

  it('a settled invoice left with only unconfirmed money goes back to processing', () => {
    const payments = [
      pay(DUE, { status: 'replaced' }),
      pay(DUE, { confirmations: 0, status: 'seen', seenAt: new Date(T0 + 120_000) }),
    ];
    expect(derive(inv({ status: 'settled', payments }))).toEqual({
      status: 'processing',
      additionalStatus: 'none',
      amountPaidTiyn: DUE,
    });
  });

  it('a settled invoice left with partial money goes back to new + paid_partial', () => {
    const payments = [
      pay(DUE / 2n, { confirmations: 3, status: 'confirmed' }),
      pay(DUE / 2n, { status: 'reorged' }),
    ];
    expect(derive(inv({ status: 'settled', payments }))).toMatchObject({
      status: 'new',
      additionalStatus: 'paid_partial',
      amountPaidTiyn: DUE / 2n,
    });
  });

  it('a settled invoice stays settled when an extra unconfirmed payment arrives, or an extra one leaves', () => {
    const settledBy = pay(DUE, { confirmations: 1, status: 'confirmed' });
    const extra = pay(1000n, { confirmations: 0, seenAt: new Date(T0 + 600_000) });
    expect(derive(inv({ status: 'settled', payments: [settledBy, extra] }))).toEqual({
      status: 'settled',
      additionalStatus: 'paid_over',
      amountPaidTiyn: DUE + 1000n,
    });
    // The same facts on an invoice that had not settled yet: every payment must be confirmed first.
    expect(derive(inv({ status: 'processing', payments: [settledBy, extra] })).status).toBe('processing');
    const extraGone = { ...extra, status: 'reorged' as const };
    expect(derive(inv({ status: 'settled', payments: [settledBy, extraGone] }))).toEqual({
      status: 'settled',
      additionalStatus: 'none',
      amountPaidTiyn: DUE,
    });
  });
});

describe('deriveState: confirmations per speed policy', () => {
  const cases: [SpeedPolicy, NetworkId, boolean, number][] = [
    ['high', 'bitcoin-regtest', false, 0],
    ['high', 'litecoin-regtest', false, 0],
    ['high', 'bitcoin-regtest', true, 1],
    ['high', 'anvil', false, 1],
    ['high', 'ethereum-sepolia', false, 1],
    ['medium', 'bitcoin-regtest', false, 1],
    ['medium', 'bitcoin-regtest', true, 1],
    ['medium', 'anvil', false, 1],
    ['low-medium', 'bitcoin-regtest', false, 2],
    ['low-medium', 'litecoin-regtest', true, 2],
    ['low-medium', 'anvil', false, 2],
    ['low', 'bitcoin-regtest', false, 6],
    ['low', 'bitcoin-regtest', true, 6],
    ['low', 'anvil', false, 6],
  ];

  it.each(cases)('%s on %s (rbf %s) needs %i confirmations', (policy, network, rbf, needed) => {
    expect(requiredConfirmations(policy, network, rbf)).toBe(needed);
    for (let confs = 0; confs <= 8; confs++) {
      const p = pay(DUE, { network, rbf, confirmations: confs, status: confs > 0 ? 'confirmed' : 'seen' });
      const d = derive(inv({ speedPolicy: policy, payments: [p] }));
      expect({ confs, status: d.status }).toEqual({
        confs,
        status: confs >= needed ? 'settled' : 'processing',
      });
      // Still true after expiry: a payment seen in time is not undone by slow blocks.
      expect(derive(inv({ speedPolicy: policy, payments: [p] }), AFTER).status).toBe(d.status);
    }
  });

  it('the policy table is the SPEC’s', () => {
    expect(CONFIRMATIONS).toEqual({ high: 0, medium: 1, 'low-medium': 2, low: 6 });
  });

  it('settles only when every counted in-time payment has its confirmations', () => {
    const a = pay(DUE / 2n, { confirmations: 2, status: 'confirmed' });
    const b = pay(DUE / 2n, { confirmations: 0 });
    expect(derive(inv({ payments: [a, b] })).status).toBe('processing');
    expect(derive(inv({ payments: [a, { ...b, confirmations: 1, status: 'confirmed' }] })).status).toBe(
      'settled',
    );
    // A reorged one does not block settling when the rest pays.
    const c = pay(DUE, { confirmations: 0, status: 'reorged' });
    expect(derive(inv({ payments: [a, { ...b, confirmations: 1 }, c] })).status).toBe('settled');
  });

  it('a late payment (after expiry) neither helps nor blocks settling', () => {
    const inTime = pay(DUE, { confirmations: 1, status: 'confirmed' });
    const late = pay(1000n, { confirmations: 0, seenAt: AFTER });
    expect(derive(inv({ payments: [inTime, late] }), AFTER)).toEqual({
      status: 'settled',
      additionalStatus: 'paid_over',
      amountPaidTiyn: DUE + 1000n,
    });
  });
});

describe('deriveState: expiry', () => {
  it('full payment after expiry → expired + paid_late', () => {
    const i = inv({ status: 'expired', payments: [pay(DUE, { seenAt: AFTER })] });
    expect(derive(i, AFTER)).toEqual({
      status: 'expired',
      additionalStatus: 'paid_late',
      amountPaidTiyn: DUE,
    });
    // Confirmations do not change that.
    const c = inv({
      status: 'expired',
      payments: [pay(DUE, { seenAt: AFTER, confirmations: 6, status: 'confirmed' })],
    });
    expect(derive(c, AFTER).status).toBe('expired');
  });

  it('a payment seen exactly at the expiry instant is in time', () => {
    expect(derive(inv({ payments: [pay(DUE, { seenAt: EXPIRES })] }), AFTER).status).toBe('processing');
    expect(
      derive(inv({ payments: [pay(DUE, { seenAt: new Date(EXPIRES.getTime() + 1) })] }), AFTER),
    ).toMatchObject({
      status: 'expired',
      additionalStatus: 'paid_late',
    });
  });

  it('partial before expiry + top-up after → expired + paid_late', () => {
    const i = inv({ payments: [pay(DUE / 2n), pay(DUE / 2n, { seenAt: AFTER })] });
    expect(derive(i, AFTER)).toEqual({
      status: 'expired',
      additionalStatus: 'paid_late',
      amountPaidTiyn: DUE,
    });
  });

  it('partial before expiry, nothing after → expired + paid_partial', () => {
    expect(derive(inv({ payments: [pay(DUE / 2n)] }), AFTER)).toMatchObject({
      status: 'expired',
      additionalStatus: 'paid_partial',
    });
  });

  it('a paid invoice does not expire', () => {
    expect(derive(inv({ payments: [pay(DUE)] }), AFTER).status).toBe('processing');
  });
});

describe('deriveState: review', () => {
  const confirmed = () => pay(DUE, { confirmations: 1, status: 'confirmed' });

  it('held blocks settling; released settles; rejected is invalid', () => {
    expect(derive(inv({ review: 'held', payments: [confirmed()] })).status).toBe('processing');
    expect(derive(inv({ review: 'released', payments: [confirmed()] })).status).toBe('settled');
    expect(derive(inv({ review: 'rejected', payments: [confirmed()] }))).toEqual({
      status: 'invalid',
      additionalStatus: 'none',
      amountPaidTiyn: DUE,
    });
  });

  it('a hold on a settled invoice takes it back to processing', () => {
    expect(derive(inv({ status: 'settled', review: 'held', payments: [confirmed()] })).status).toBe(
      'processing',
    );
  });

  it('held on an unpaid invoice changes nothing; rejected makes it invalid', () => {
    expect(derive(inv({ review: 'held' })).status).toBe('new');
    expect(derive(inv({ review: 'held' }), AFTER).status).toBe('expired');
    expect(derive(inv({ review: 'rejected', payments: [pay(DUE / 2n)] }))).toEqual({
      status: 'invalid',
      additionalStatus: 'paid_partial',
      amountPaidTiyn: DUE / 2n,
    });
    expect(derive(inv({ review: 'rejected', payments: [pay(3n * DUE)] })).additionalStatus).toBe('paid_over');
  });
});

// ---- Property test against an oracle written from SPEC section 5 -------------------------------

const NEED: Record<SpeedPolicy, number> = { high: 0, medium: 1, 'low-medium': 2, low: 6 };

function oracle(i: Invoice, now: Date): { status: InvoiceStatus; additional: string; paid: bigint } {
  const counted = i.payments.filter((p) => p.status === 'seen' || p.status === 'confirmed');
  const inTime = counted.filter((p) => p.seenAt <= i.expiresAt);
  const sum = (ps: Payment[]) => ps.reduce((s, p) => s + p.amountTiyn, 0n);
  const paid = sum(counted);
  // due less the tolerance, the tolerance rounded down to whole tiyn
  const minimum = i.amountTiyn - (i.amountTiyn * BigInt(i.paymentToleranceBp)) / 10_000n;
  const need = (p: Payment) => {
    const utxo = p.network.startsWith('bitcoin') || p.network.startsWith('litecoin');
    const n = NEED[i.speedPolicy];
    return n === 0 && (!utxo || p.rbf) ? 1 : n;
  };
  const enough = sum(inTime) > 0n && sum(inTime) >= minimum;
  let status: InvoiceStatus;
  if (i.cancelled || i.review === 'rejected') status = 'invalid';
  else if (enough) {
    const deep = inTime.filter((p) => p.confirmations >= need(p));
    const all = deep.length === inTime.length;
    const stays = i.status === 'settled' && sum(deep) > 0n && sum(deep) >= minimum;
    status = (all || stays) && i.review !== 'held' ? 'settled' : 'processing';
  } else status = now >= i.expiresAt ? 'expired' : 'new';
  let additional = 'none';
  if (status === 'processing' || status === 'settled' || (status === 'invalid' && enough))
    additional = paid > i.amountTiyn ? 'paid_over' : 'none';
  else if (counted.some((p) => p.seenAt > i.expiresAt)) additional = 'paid_late';
  else if (paid > 0n) additional = 'paid_partial';
  return { status, additional, paid };
}

const paymentArb = fc
  .record({
    share: fc.integer({ min: 1, max: 1200 }), // per mille of the due amount
    network: fc.constantFrom<NetworkId>('bitcoin-regtest', 'litecoin-regtest', 'anvil'),
    rbf: fc.boolean(),
    confirmations: fc.integer({ min: 0, max: 7 }),
    status: fc.constantFrom<PaymentStatus>('seen', 'confirmed', 'reorged', 'replaced'),
    seenOffsetMin: fc.integer({ min: 0, max: 30 }),
  })
  .map((r) =>
    pay((DUE * BigInt(r.share)) / 1000n, {
      network: r.network,
      rbf: r.rbf,
      confirmations: r.confirmations,
      status: r.status,
      seenAt: new Date(T0 + r.seenOffsetMin * 60_000),
    }),
  );

const invoiceArb = fc
  .record({
    status: fc.constantFrom<InvoiceStatus>('new', 'processing', 'settled', 'expired', 'invalid'),
    review: fc.constantFrom<ReviewStatus>('none', 'held', 'released', 'rejected'),
    speedPolicy: fc.constantFrom<SpeedPolicy>('high', 'medium', 'low-medium', 'low'),
    paymentToleranceBp: fc.constantFrom(0, 1, 50, 100, 500, 10_000),
    cancelled: fc.boolean(),
    payments: fc.array(paymentArb, { maxLength: 4 }),
  })
  .map((r) => inv(r));

const nowArb = fc.integer({ min: 0, max: 40 }).map((m) => new Date(T0 + m * 60_000));

describe('deriveState: properties', () => {
  it('agrees with the SPEC oracle on random facts', () => {
    fc.assert(
      fc.property(invoiceArb, nowArb, (i, now) => {
        const d = deriveState(i, now);
        const o = oracle(i, now);
        expect({ status: d.status, additional: d.additionalStatus, paid: d.amountPaidTiyn }).toEqual(o);
      }),
      { numRuns: 3000 },
    );
  });

  it('does not depend on the order of payments', () => {
    fc.assert(
      fc.property(invoiceArb, nowArb, (i, now) => {
        const reversed = { ...i, payments: [...i.payments].reverse() };
        expect(deriveState(reversed, now)).toEqual(deriveState(i, now));
      }),
    );
  });

  it('is idempotent: deriving from its own result changes nothing', () => {
    fc.assert(
      fc.property(invoiceArb, nowArb, (i, now) => {
        const d = deriveState(i, now);
        const again = deriveState({ ...i, status: d.status, additionalStatus: d.additionalStatus }, now);
        expect(again).toEqual(d);
      }),
    );
  });

  it('invariants: invalid iff cancelled/rejected; settled never while held; paid = counted sum', () => {
    fc.assert(
      fc.property(invoiceArb, nowArb, (i, now) => {
        const d = deriveState(i, now);
        expect(d.status === 'invalid').toBe(i.cancelled || i.review === 'rejected');
        if (i.review === 'held') expect(d.status).not.toBe('settled');
        const counted = i.payments.filter(isCounted).reduce((s, p) => s + p.amountTiyn, 0n);
        expect(d.amountPaidTiyn).toBe(counted);
        if (counted === 0n) expect(d.additionalStatus).toBe('none');
        if (d.status === 'new') expect(now.getTime()).toBeLessThan(i.expiresAt.getTime());
        // Settled or processing only with money seen in time.
        if (d.status === 'settled' || d.status === 'processing') {
          const inTime = i.payments.filter((p) => isCounted(p) && p.seenAt <= i.expiresAt);
          expect(inTime.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('more confirmations never move an invoice backwards', () => {
    const rank: Record<InvoiceStatus, number> = { new: 0, expired: 0, processing: 1, settled: 2, invalid: 3 };
    fc.assert(
      fc.property(invoiceArb, nowArb, fc.integer({ min: 1, max: 6 }), (i, now, more) => {
        const before = deriveState(i, now);
        const deeper = {
          ...i,
          payments: i.payments.map((p) => ({ ...p, confirmations: p.confirmations + more })),
        };
        expect(rank[deriveState(deeper, now).status]).toBeGreaterThanOrEqual(rank[before.status]);
      }),
    );
  });
});
