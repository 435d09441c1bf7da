// The regulator API in-process on a real database: keys and their boundaries, the queue and its
// filters, four-eyes decisions, FM-1 / IVMS101 downloads, and the audit chain's verification.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { amlContext, newInvoice, newRegulator, operatorList, PAYER_BTC, payAndScreen } from '../aml/support';
import { decodeUtf16Bom, parseXml } from '../aml/xml';
import { checkContract } from '../helpers/contract';
import { jsonRequest } from '../helpers/services';

// biome-ignore lint/suspicious/noExplicitAny: loose reads of response bodies
type Json = Record<string, any>;

let ctx: Awaited<ReturnType<typeof amlContext>>;
let keyA: string;
let keyB: string;
let heldCase: string;
let heldInvoice: string;
let thresholdCase: string;

beforeAll(async () => {
  ctx = await amlContext();
  await checkContract(ctx.app); // every answer below is checked against /openapi.json
  await operatorList(ctx, `address,asset,name,reason\n${PAYER_BTC},BTC,Listed Person,court order 12/2025\n`);
  keyA = (await newRegulator(ctx, 'Aigerim Sadykova', 'a@afm.test')).apiKey.apiKey;
  keyB = (await newRegulator(ctx, 'Daniyar Abenov', 'd@afm.test')).apiKey.apiKey;
  const inv = await newInvoice(ctx, ctx.merchantId);
  const held = await payAndScreen(ctx, inv, { confirmations: 1 });
  heldCase = held.outcome.caseId!;
  heldInvoice = inv.id;
  const big = await newInvoice(ctx, ctx.merchantId, '7000000.00');
  thresholdCase = (await payAndScreen(ctx, big, { from: ['bcrt1qbigspender'] })).outcome.caseId!;
});
afterAll(() => ctx?.close());

const get = (key: string | undefined, path: string) => ctx.app.request(path, jsonRequest(key));
const post = (key: string | undefined, path: string, body: unknown) =>
  ctx.app.request(path, jsonRequest(key, body));

describe('who may use the regulator API', () => {
  it('a merchant key gets 403, no key 401, a malformed rk_ key 401', async () => {
    const merchant = await get(ctx.apiKey, '/v1/regulator/cases');
    expect(merchant.status).toBe(403);
    expect(await merchant.json()).toMatchObject({ code: 'forbidden' });
    expect((await get(undefined, '/v1/regulator/cases')).status).toBe(401);
    expect(((await (await get('rk_nope', '/v1/regulator/cases')).json()) as { code: string }).code).toBe(
      'api_key_malformed',
    );
    expect(
      (
        await post(ctx.apiKey, `/v1/regulator/cases/${heldCase}/decisions`, {
          decision: 'clear',
          reason: 'x',
        })
      ).status,
    ).toBe(403);
  });

  it('a regulator key cannot act as a merchant', async () => {
    const res = await get(keyA, '/v1/invoices');
    expect(res.status).toBe(403);
  });

  it('the merchant sees only review: held, nothing of the case', async () => {
    const res = await get(ctx.apiKey, `/v1/invoices/${heldInvoice}`);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body.review).toBe('held');
    expect(JSON.stringify(body)).not.toMatch(/case_|rep_|Listed Person|sanction/i);
  });
});

describe('the queue', () => {
  it('lists cases earliest deadline first, with filters', async () => {
    const all = (await (await get(keyA, '/v1/regulator/cases')).json()) as {
      data: { id: string; dueAt: string }[];
    };
    expect(all.data.map((c) => c.id).sort()).toEqual([heldCase, thresholdCase].sort());
    const due = all.data.map((c) => c.dueAt);
    expect([...due].sort()).toEqual(due);

    const severe = (await (await get(keyA, '/v1/regulator/cases?risk=severe&status=open')).json()) as {
      data: { id: string; hold: boolean; reasons: { code: string }[] }[];
    };
    expect(severe.data.map((c) => c.id)).toEqual([heldCase]);
    expect(severe.data[0]).toMatchObject({ hold: true, reasons: [{ code: 'sanctions_list_match' }] });
    const big = (await (await get(keyA, '/v1/regulator/cases?minAmount=5000000.00')).json()) as {
      data: { id: string }[];
    };
    expect(big.data.map((c) => c.id)).toEqual([thresholdCase]);
    const mine = (await (
      await get(keyA, `/v1/regulator/cases?merchant=${ctx.merchantId}&network=bitcoin-regtest&overdue=false`)
    ).json()) as { data: unknown[] };
    expect(mine.data).toHaveLength(2);
    const none = (await (await get(keyA, '/v1/regulator/cases?network=anvil')).json()) as { data: unknown[] };
    expect(none.data).toHaveLength(0);
    const page = (await (await get(keyA, '/v1/regulator/cases?limit=1')).json()) as {
      data: { id: string }[];
      nextCursor: string;
    };
    const rest = (await (
      await get(keyA, `/v1/regulator/cases?limit=1&cursor=${page.nextCursor}`)
    ).json()) as {
      data: { id: string }[];
      nextCursor: string | null;
    };
    expect([page.data[0]!.id, rest.data[0]!.id].sort()).toEqual([heldCase, thresholdCase].sort());
    expect(rest.nextCursor).toBeNull();

    const bad = await get(keyA, '/v1/regulator/cases?risk=extreme&minAmount=1e6');
    expect(bad.status).toBe(422);
    expect(((await bad.json()) as { errors: { path: string }[] }).errors.map((e) => e.path)).toContain(
      'risk',
    );
  });

  it('a case shows its payment, addresses, reasons, merchant, tenge value and reports', async () => {
    const res = await get(keyA, `/v1/regulator/cases/${heldCase}`);
    expect(res.status).toBe(200);
    const c = (await res.json()) as Json;
    expect(c).toMatchObject({
      id: heldCase,
      status: 'open',
      risk: 'severe',
      hold: true,
      amountKzt: '15000.00',
      merchant: { id: ctx.merchantId, bin: '123456789012' },
      invoice: { id: heldInvoice, review: 'held', status: 'processing' },
      payment: { from: [PAYER_BTC], confirmations: 1, amountKzt: '15000.00' },
      awaitingSecondClearance: false,
    });
    expect(c.reasons[0].message).toContain('Listed Person');
    expect(c.screening.map((s: { screener: string }) => s.screener)).toContain('sanctions');
    const t = (await (await get(keyA, `/v1/regulator/cases/${thresholdCase}`)).json()) as Json;
    expect(t.reports).toEqual([expect.objectContaining({ kind: 'threshold', reasonCode: '1' })]);
    expect((await get(keyA, '/v1/regulator/cases/case_nope')).status).toBe(404);
  });
});

describe('decisions', () => {
  it('need a reason and a known decision', async () => {
    const path = `/v1/regulator/cases/${heldCase}/decisions`;
    const noReason = await post(keyA, path, { decision: 'clear' });
    expect(noReason.status).toBe(422);
    expect(((await noReason.json()) as { errors: { path: string }[] }).errors[0]!.path).toBe('reason');
    expect((await post(keyA, path, { decision: 'approve', reason: 'x' })).status).toBe(422);
    expect((await post(keyA, path, { decision: 'clear', reason: '   ' })).status).toBe(422);
  });

  it('clearing a severe case needs two different regulators; the same one twice gets 409', async () => {
    const path = `/v1/regulator/cases/${heldCase}/decisions`;
    const first = await post(keyA, path, { decision: 'clear', reason: 'documents checked' });
    expect(first.status).toBe(200);
    expect(await first.json()).toMatchObject({
      status: 'open',
      awaitingSecondClearance: true,
      invoice: { review: 'held' },
    });
    const again = await post(keyA, path, { decision: 'clear', reason: 'really' });
    expect(again.status).toBe(409);
    expect(await again.json()).toMatchObject({ code: 'four_eyes_required' });
    const second = await post(keyB, path, { decision: 'clear', reason: 'agree' });
    expect(second.status).toBe(200);
    expect(await second.json()).toMatchObject({
      status: 'cleared',
      closed: true,
      invoice: { review: 'released', status: 'settled' },
      decisions: [{ regulator: { name: 'Aigerim Sadykova' } }, { regulator: { name: 'Daniyar Abenov' } }],
    });
    const closed = await post(keyB, path, { decision: 'reject', reason: 'changed my mind' });
    expect(closed.status).toBe(409);
    expect(await closed.json()).toMatchObject({ code: 'case_closed' });
  });

  it('report → an FM-1 draft (UTF-16 with BOM, reason 4.1) and IVMS101 data, downloadable', async () => {
    const inv = await newInvoice(ctx, ctx.merchantId);
    const { outcome } = await payAndScreen(ctx, inv);
    const res = await post(keyA, `/v1/regulator/cases/${outcome.caseId}/decisions`, {
      decision: 'report',
      reason: "listed counterparty; <file> & 'report'",
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { status: string; reportId: string; reports: { id: string }[] };
    expect(body.status).toBe('reported');
    expect(body.reports.map((r) => r.id)).toContain(body.reportId);

    const meta = await get(keyA, `/v1/regulator/reports/${body.reportId}`);
    expect(await meta.json()).toMatchObject({ kind: 'list_match', reasonCode: '4.1', status: 'draft' });

    const xmlRes = await get(keyA, `/v1/regulator/reports/${body.reportId}/fm1.xml`);
    expect(xmlRes.status).toBe(200);
    expect(xmlRes.headers.get('content-type')).toBe('application/xml; charset=utf-16');
    const bytes = new Uint8Array(await xmlRes.arrayBuffer());
    const xml = parseXml(decodeUtf16Bom(bytes));
    const root = 'ExportData/SignedData/Data/Root';
    expect(xml.texts.get(`${root}/MessageInformation/ReasonFilingId`)).toEqual(['4.1']);
    expect(xml.texts.get(`${root}/MessageInformation/OperationStatusId`)).toEqual(['3']);
    expect(xml.texts.get(`${root}/PersonalData/FirstName`)).toEqual(['Sadykova']);
    expect(xml.texts.get(`${root}/Participants/Participant/CorrespondentBank/AccountNumber`)![0]).toBe(
      PAYER_BTC,
    );
    expect(xml.texts.get(`${root}/Participants/Participant/IndividualIssue`)).toEqual(['123456789012']);
    expect(xml.paths.has('ExportData/SignedData/Signature')).toBe(true);

    const ivms = await get(keyA, `/v1/regulator/reports/${body.reportId}/ivms101.json`);
    expect(await ivms.json()).toMatchObject({
      ivms101: { originator: { accountNumber: [PAYER_BTC] } },
      transfer: { network: 'bitcoin-regtest', asset: 'BTC', amountKzt: '15000.00' },
    });
    // The hold stays until a regulator clears or rejects the reported operation.
    const after = (await (await get(keyA, `/v1/regulator/cases/${outcome.caseId}`)).json()) as Json;
    expect(after).toMatchObject({ status: 'reported', closed: false, invoice: { review: 'held' } });
    expect((await get(ctx.apiKey, `/v1/regulator/reports/${body.reportId}/fm1.xml`)).status).toBe(403);
  });
});

describe('GET /v1/regulator/audit/verify', () => {
  it('verifies the chain, and names the entry a superuser changed behind the trigger', async () => {
    const ok = (await (await get(keyA, '/v1/regulator/audit/verify')).json()) as {
      ok: boolean;
      entries: number;
    };
    expect(ok.ok).toBe(true);
    expect(ok.entries).toBeGreaterThan(5);
    const [target] = await ctx.db.sql<{ id: string }[]>`select id::text as id from audit_log
      where action = 'aml.case_clear' order by id limit 1`;
    // The trigger refuses the change; a superuser can switch it off, but the chain still tells.
    await expect(ctx.db.sql`update audit_log set data = '{}' where id = ${target!.id}`).rejects.toThrow(
      /append-only/,
    );
    await ctx.db.sql.begin(async (tx) => {
      await tx`alter table audit_log disable trigger audit_log_no_update`;
      await tx`update audit_log set data = jsonb_set(data, '{reason}', '"nothing to see"') where id = ${target!.id}`;
      await tx`alter table audit_log enable trigger audit_log_no_update`;
    });
    const broken = (await (await get(keyA, '/v1/regulator/audit/verify')).json()) as Record<string, unknown>;
    expect(broken).toMatchObject({ ok: false, brokenAt: { id: target!.id, reason: 'content changed' } });
  });
});
