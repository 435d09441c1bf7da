// The screening policy on payments: threshold operations are reported (a draft FM-1 reason 1, due the
// next working day) but not held; structuring over three payments is held; a provider's hit is held.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nextWorkingDayEnd } from '../../src/aml/deadlines';
import { encodeUtf16Bom } from '../../src/aml/fm1';
import { getReport } from '../../src/aml/reports';
import { amlContext, newInvoice, outboxTypes, payAndScreen } from './support';
import { decodeUtf16Bom, parseXml } from './xml';

let ctx: Awaited<ReturnType<typeof amlContext>>;
beforeAll(async () => {
  ctx = await amlContext();
});
afterAll(() => ctx?.close());

describe('threshold operations', () => {
  it('are reported, not held: a low-risk case with a draft FM-1 (reason 1) due the next working day', async () => {
    const inv = await newInvoice(ctx, ctx.merchantId, '6000000.00');
    const { outcome, invoice } = await payAndScreen(ctx, inv, {
      from: ['bcrt1qthresholdpayer0000000000000000000000'],
    });
    expect(outcome).toMatchObject({ risk: 'low', held: false });
    expect(invoice.review).toBe('none');
    const [c] = await ctx.db.sql`select * from aml_cases where id = ${outcome.caseId}`;
    expect(c).toMatchObject({ risk: 'low', hold: false, status: 'open' });
    expect(new Date(c!.due_at).toISOString()).toBe(nextWorkingDayEnd(new Date(c!.created_at)).toISOString());
    const [rep] = await ctx.db.sql`select id from aml_reports where case_id = ${outcome.caseId}`;
    const report = (await getReport(ctx.db.sql, rep!.id))!;
    expect(report).toMatchObject({ kind: 'threshold', reasonCode: '1', createdBy: 'system' });
    const xml = parseXml(decodeUtf16Bom(encodeUtf16Bom(report.fm1Xml)));
    const mi = 'ExportData/SignedData/Data/Root/MessageInformation';
    expect(xml.texts.get(`${mi}/ReasonFilingId`)).toEqual(['1']);
    expect(xml.texts.get(`${mi}/AmountCurrencyTenge`)).toEqual(['6000000.00']);
    // Nothing of it reaches the merchant.
    expect((await outboxTypes(ctx, inv.id)).filter((t) => t === 'invoice.held')).toEqual([]);
  });

  it('an operation under the threshold from a clean sender opens no case', async () => {
    const inv = await newInvoice(ctx, ctx.merchantId, '4999999.99');
    const { outcome } = await payAndScreen(ctx, inv, {
      from: ['bcrt1qcleanpayer00000000000000000000000000'],
    });
    expect(outcome).toEqual({ risk: 'none', held: false, caseId: null, replayed: false });
  });
});

describe('structuring', () => {
  it('three payments of one sender within 24 h, each under the threshold, together over it → held', async () => {
    const sender = 'bcrt1qstructurer000000000000000000000000000';
    const outcomes = [];
    for (let i = 0; i < 3; i++) {
      const inv = await newInvoice(ctx, ctx.merchantId, '2000000.00');
      outcomes.push(await payAndScreen(ctx, inv, { from: [sender] }));
    }
    expect(outcomes.map((o) => o.outcome.risk)).toEqual(['none', 'none', 'high']);
    const third = outcomes[2]!;
    expect(third.outcome.held).toBe(true);
    expect(third.invoice.review).toBe('held');
    const [c] = await ctx.db.sql`select reasons, risk, due_at, created_at from aml_cases
      where id = ${third.outcome.caseId}`;
    expect(c!.reasons).toEqual([expect.objectContaining({ code: 'structuring' })]);
    expect((c!.reasons as { message: string }[])[0]!.message).toMatch(/3 payments .* total 6000000\.00 KZT/);
    // Suspicious: due 24 hours after it was recognised.
    expect(new Date(c!.due_at).getTime() - new Date(c!.created_at).getTime()).toBe(24 * 3600 * 1000);
  });

  it('payments of different senders do not add up', async () => {
    const outcomes = [];
    for (let i = 0; i < 3; i++) {
      const inv = await newInvoice(ctx, ctx.merchantId, '2000000.00');
      outcomes.push(
        await payAndScreen(ctx, inv, { from: [`bcrt1qsender${i}000000000000000000000000000000`] }),
      );
    }
    expect(outcomes.map((o) => o.outcome.risk)).toEqual(['none', 'none', 'none']);
  });
});
