// The compliance flow end to end on a real database: a payer on the operator's CSV list is refused
// before an intent; a payment from it is held, cleared by two different regulators, then settles.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decide } from '../../src/aml/cases';
import { reporterFromConfig } from '../../src/aml/wiring';
import {
  amlContext,
  confirm,
  newInvoice,
  newRegulator,
  operatorList,
  outboxTypes,
  PAYER_BTC,
  PAYER_EVM,
  payAndScreen,
} from './support';

let ctx: Awaited<ReturnType<typeof amlContext>>;
beforeAll(async () => {
  ctx = await amlContext();
  await operatorList(
    ctx,
    `address,asset,name,reason\n${PAYER_EVM},,Sandbox payer,test listing\n${PAYER_BTC},BTC,Sandbox payer,test listing\n`,
  );
});
afterAll(() => ctx?.close());

const deps = () => ({ state: ctx.services.state, reporter: reporterFromConfig(ctx.config) });

describe('a listed payer', () => {
  it('is refused before an intent, without list details, and the refusal is recorded', async () => {
    const inv = await newInvoice(ctx, ctx.merchantId);
    const verdict = await ctx.services.screening.screenPayer({
      network: 'anvil',
      address: PAYER_EVM.toLowerCase(),
      invoiceId: inv.id,
      amountTiyn: inv.amountTiyn,
    });
    expect(verdict).toEqual({ allowed: false });
    const [row] = await ctx.db
      .sql`select risk, allowed, results from screenings where invoice_id = ${inv.id}`;
    expect(row).toMatchObject({ risk: 'severe', allowed: false });
    expect(JSON.stringify(row!.results)).toContain('Sandbox payer');
    const [audit] = await ctx.db.sql`select action from audit_log where action = 'aml.payer_refused'
      and subject = ${inv.id}`;
    expect(audit).toBeDefined();
  });

  it('an unlisted payer is allowed', async () => {
    const inv = await newInvoice(ctx, ctx.merchantId);
    const verdict = await ctx.services.screening.screenPayer({
      network: 'anvil',
      address: '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC',
      invoiceId: inv.id,
      amountTiyn: inv.amountTiyn,
    });
    expect(verdict).toEqual({ allowed: true });
  });

  it('a payment from it is held, cleared by two regulators, and then settles', async () => {
    const inv = await newInvoice(ctx, ctx.merchantId);
    const { paymentId, outcome, invoice } = await payAndScreen(ctx, inv);
    expect(outcome).toMatchObject({ risk: 'severe', held: true, replayed: false });
    expect(invoice).toMatchObject({ status: 'processing', review: 'held' });

    // Confirmations alone do not settle a held invoice.
    expect(await confirm(ctx, paymentId, 3)).toMatchObject({ status: 'processing', review: 'held' });

    const a = await newRegulator(ctx, 'Aigerim Sadykova', 'a.sadykova@afm.test');
    const b = await newRegulator(ctx, 'Daniyar Abenov', 'd.abenov@afm.test');
    const caseId = outcome.caseId!;
    const who = (r: typeof a) => ({ id: r.regulator.id, name: r.regulator.name, email: r.regulator.email });

    const first = await decide(ctx.db.sql, deps(), {
      caseId,
      decision: 'clear',
      reason: 'known customer, listing is a test',
      regulator: who(a),
    });
    expect(first.awaitingSecondClearance).toBe(true);
    expect(first.case.status).toBe('open');
    expect(first.case.invoice.review).toBe('held');

    await expect(
      decide(ctx.db.sql, deps(), { caseId, decision: 'clear', reason: 'again', regulator: who(a) }),
    ).rejects.toMatchObject({ code: 'four_eyes_required', status: 409 });

    const second = await decide(ctx.db.sql, deps(), {
      caseId,
      decision: 'clear',
      reason: 'second pair of eyes agrees',
      regulator: who(b),
    });
    expect(second.awaitingSecondClearance).toBe(false);
    expect(second.case).toMatchObject({ status: 'cleared', closed: true });
    expect(second.case.invoice).toMatchObject({ status: 'settled', review: 'released' });
    expect(second.case.decisions.map((d) => d.regulatorName)).toEqual(['Aigerim Sadykova', 'Daniyar Abenov']);

    const types = await outboxTypes(ctx, inv.id);
    expect(types).toContain('invoice.held');
    expect(types).toContain('invoice.released');
    expect(types.indexOf('invoice.settled')).toBeGreaterThan(types.indexOf('invoice.released'));
    // No tipping-off: no event body mentions a case, a list or a report.
    const bodies = await ctx.db.sql`select payload from outbox where invoice_id = ${inv.id}`;
    const text = JSON.stringify(bodies.map((r) => r.payload));
    expect(text).not.toMatch(/case_|rep_|Sandbox payer|sanction|fm1/i);

    const actions = await ctx.db
      .sql`select action, actor from audit_log where subject = ${caseId} order by id`;
    expect(actions.map((r) => r.action)).toEqual(['aml.case_opened', 'aml.case_clear', 'aml.case_clear']);
  });

  it('a re-scan of the same payment does not open a second case', async () => {
    const inv = await newInvoice(ctx, ctx.merchantId);
    const first = await payAndScreen(ctx, inv, { txid: 'cd'.repeat(32) });
    const again = await payAndScreen(ctx, inv, { txid: 'cd'.repeat(32) });
    expect(again.paymentId).toBe(first.paymentId);
    expect(again.outcome).toMatchObject({ replayed: true, caseId: first.outcome.caseId, held: true });
    const [row] = await ctx.db.sql<{ n: number }[]>`select count(*)::int as n from aml_cases
      where invoice_id = ${inv.id}`;
    expect(row!.n).toBe(1);
  });

  it('a payment already confirmed at its first sighting is held before it can settle', async () => {
    const inv = await newInvoice(ctx, ctx.merchantId);
    const { outcome, invoice } = await payAndScreen(ctx, inv, { confirmations: 6 });
    expect(outcome).toMatchObject({ held: true, replayed: false });
    expect(invoice).toMatchObject({ status: 'processing', review: 'held' });
    // The merchant never hears "settled" for a payment under review.
    const before = await outboxTypes(ctx, inv.id);
    expect(before).toContain('invoice.payment_received');
    expect(before).toContain('invoice.held');
    expect(before).not.toContain('invoice.settled');
    expect(before.indexOf('invoice.payment_received')).toBeLessThan(before.indexOf('invoice.held'));

    const a = await newRegulator(ctx, 'Aliya Nurlanova', 'a.nurlanova@afm.test');
    const b = await newRegulator(ctx, 'Bolat Seitkali', 'b.seitkali@afm.test');
    for (const r of [a, b]) {
      await decide(ctx.db.sql, deps(), {
        caseId: outcome.caseId!,
        decision: 'clear',
        reason: 'reviewed',
        regulator: { id: r.regulator.id, name: r.regulator.name, email: r.regulator.email },
      });
    }
    const after = await outboxTypes(ctx, inv.id);
    expect(after.filter((t) => t === 'invoice.settled')).toHaveLength(1);
    expect(after.indexOf('invoice.settled')).toBeGreaterThan(after.indexOf('invoice.released'));
  });

  it('a 0-conf payment under the high speed policy is held, not settled, at first sighting', async () => {
    const inv = await newInvoice(ctx, ctx.merchantId);
    // `high` settles a non-RBF UTXO payment with no confirmation at all.
    await ctx.db.sql`update invoices set speed_policy = 'high' where id = ${inv.id}`;
    const { outcome, invoice } = await payAndScreen(
      ctx,
      { ...inv, speedPolicy: 'high' },
      { confirmations: 0 },
    );
    expect(outcome).toMatchObject({ risk: 'severe', held: true });
    expect(invoice).toMatchObject({ status: 'processing', review: 'held', settledAt: null });
    expect(await outboxTypes(ctx, inv.id)).toEqual([
      'invoice.created',
      'invoice.payment_received',
      'invoice.held',
      'invoice.processing',
    ]);
  });

  it('a rejection makes the invoice invalid', async () => {
    const inv = await newInvoice(ctx, ctx.merchantId);
    const { outcome } = await payAndScreen(ctx, inv);
    const r = await newRegulator(ctx, 'Serik Omarov', 's.omarov@afm.test');
    const out = await decide(ctx.db.sql, deps(), {
      caseId: outcome.caseId!,
      decision: 'reject',
      reason: 'sanctioned counterparty',
      regulator: { id: r.regulator.id, name: r.regulator.name, email: r.regulator.email },
    });
    expect(out.case.status).toBe('rejected');
    expect(out.case.invoice).toMatchObject({ status: 'invalid', review: 'rejected' });
    await expect(
      decide(ctx.db.sql, deps(), {
        caseId: outcome.caseId!,
        decision: 'clear',
        reason: 'too late',
        regulator: { id: r.regulator.id, name: r.regulator.name, email: r.regulator.email },
      }),
    ).rejects.toMatchObject({ code: 'case_closed' });
  });

  it('a decision without a reason is refused', async () => {
    const inv = await newInvoice(ctx, ctx.merchantId);
    const { outcome } = await payAndScreen(ctx, inv);
    const r = await newRegulator(ctx, 'Dana Kim', 'd.kim@afm.test');
    await expect(
      decide(ctx.db.sql, deps(), {
        caseId: outcome.caseId!,
        decision: 'escalate',
        reason: '   ',
        regulator: { id: r.regulator.id, name: r.regulator.name, email: r.regulator.email },
      }),
    ).rejects.toMatchObject({ code: 'validation_failed', status: 422 });
  });
});
