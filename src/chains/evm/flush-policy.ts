// Whether the gateway may authorize a flush of an EVM deposit address (DepositFactory.deployAndFlush
// needs the gateway signer's EIP-712 authorization). It may not while any payment on that deposit is
// held by AML review or was rejected by a regulator (SPEC section 10: such funds never reach the
// merchant through the gateway's contracts). A deposit address belongs to one invoice per network, so
// "payments on the deposit" are that invoice's payments on that network; a case without a payment
// (opened on the invoice) counts too, and so does the invoice's own review state.
import type { Queryable } from '../../db/client';

export type FlushBlock = 'held' | 'rejected';

/**
 * SQL condition (on evm_sweeps `s` joined with invoices `i`) true when the deposit may be flushed:
 * the same rule as `depositFlushBlock`, for selecting due sweeps without letting held ones fill a batch.
 */
export function flushAllowedWhere(sql: Queryable) {
  return sql`i.review not in ('held', 'rejected') and not exists (
    select 1 from aml_cases c where c.invoice_id = s.invoice_id and c.network = s.network
      and (c.status = 'rejected' or (c.hold and c.status in ('open', 'escalated', 'reported'))))`;
}

/** Why the deposit of `invoiceId` on `network` must not be flushed now, or null when it may be. */
export async function depositFlushBlock(
  sql: Queryable,
  network: string,
  invoiceId: string,
): Promise<FlushBlock | null> {
  const [row] = await sql<{ review: string; rejected: boolean; held: boolean }[]>`
    select i.review,
      exists (select 1 from aml_cases c where c.invoice_id = i.id and c.network = ${network}
        and c.status = 'rejected') as rejected,
      exists (select 1 from aml_cases c where c.invoice_id = i.id and c.network = ${network}
        and c.hold and c.status in ('open', 'escalated', 'reported')) as held
    from invoices i where i.id = ${invoiceId}`;
  if (!row) return 'held'; // unknown invoice: never authorize
  if (row.review === 'rejected' || row.rejected) return 'rejected';
  if (row.review === 'held' || row.held) return 'held';
  return null;
}
