// Issue 13 item 6: unauthenticated intent requests cannot flood the compliance records. Per invoice and
// per client address they are limited (429 problem+json with Retry-After), and a listed payer refused
// again and again for one invoice is recorded once (one screening row, one audit entry).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCsvList } from '../../src/aml/lists/csv';
import { importList } from '../../src/aml/lists/store';
import { INTENTS_PER_ADDRESS, INTENTS_PER_INVOICE } from '../../src/checkout/intents';
import { createEvmTestEnv, type EvmTestEnv } from '../chains/evm/support';

let env: EvmTestEnv;
const LISTED = '0x8576aCC5C05D6Ce88f4e49bf65BdF0C62F91353C';

beforeAll(async () => {
  env = await createEvmTestEnv({ extraEnv: { TRUST_PROXY: 'true' } });
  await importList(env.ctx.db.sql, {
    listId: 'operator',
    name: "Operator's list",
    source: 'csv',
    entries: parseCsvList(`address,asset,name,reason\n${LISTED},ETH,Listed payer,test listing\n`),
    actor: 'test',
  });
  await env.services.screening?.refresh();
});
afterAll(async () => {
  await env?.close();
});

const post = (invoiceId: string, payer: string, from = '203.0.113.7') =>
  env.ctx.app.request(`/v1/checkout/${invoiceId}/intents`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': from },
    body: JSON.stringify({ option: 'ETH@anvil', payer }),
  });

const records = async (invoiceId: string) => {
  const [r] = await env.ctx.db.sql<{ screenings: number; audits: number }[]>`select
      (select count(*)::int from screenings where invoice_id = ${invoiceId}) as screenings,
      (select count(*)::int from audit_log where action = 'aml.payer_refused' and subject = ${invoiceId}) as audits`;
  return r!;
};

describe('checkout intent limits', () => {
  it('500 parallel requests with a listed payer: the invoice limit answers 429, the refusal is recorded once', async () => {
    const inv = await env.invoice();
    // Each from its own address, so only the invoice's limit applies.
    const res = await Promise.all(
      Array.from({ length: 500 }, (_, i) => post(inv.id, LISTED, `198.51.100.${i % 250}`)),
    );
    const statuses = res.map((r) => r.status);
    expect(statuses.filter((s) => s === 403)).toHaveLength(INTENTS_PER_INVOICE);
    expect(statuses.filter((s) => s === 429)).toHaveLength(500 - INTENTS_PER_INVOICE);
    const limited = res.find((r) => r.status === 429)!;
    expect(limited.headers.get('content-type')).toContain('application/problem+json');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await limited.json()) as { code: string }).code).toBe('too_many_requests');
    expect(await records(inv.id)).toEqual({ screenings: 1, audits: 1 });
  });

  it('one client address is limited across invoices', async () => {
    const invoices = await Promise.all(Array.from({ length: 4 }, () => env.invoice()));
    const from = '192.0.2.99';
    const statuses: number[] = [];
    for (let i = 0; i < INTENTS_PER_ADDRESS + 5; i++) {
      statuses.push((await post(invoices[i % 4]!.id, LISTED, from)).status);
    }
    expect(statuses.slice(0, INTENTS_PER_ADDRESS).every((s) => s === 403)).toBe(true);
    expect(statuses.slice(INTENTS_PER_ADDRESS).every((s) => s === 429)).toBe(true);
    // Another address is not affected.
    expect((await post(invoices[0]!.id, env.payer.address, '192.0.2.100')).status).toBe(200);
    // Each invoice: its one refusal recorded once, however often it was asked.
    for (const inv of invoices.slice(1)) expect(await records(inv.id)).toEqual({ screenings: 1, audits: 1 });
  });
});
