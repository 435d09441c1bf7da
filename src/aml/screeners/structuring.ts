// Structuring: several payments from one sender within 24 hours, each under the threshold, together
// at or over it. Reads the payments table (the current payment is already recorded in the caller's
// transaction), across every merchant: splitting is about the sender, not the shop.
import { getAddress } from 'ethers';
import { formatKzt } from '../../lib/money';
import { normalizeAddress } from '../lists/normalize';
import { result, type Screener } from '../types';

export interface StructuringOptions {
  readonly thresholdTiyn: bigint;
  readonly windowMs?: number;
  /** How many under-threshold payments make a pattern (default 2). */
  readonly minPayments?: number;
}

/** Spellings a watcher may have stored for one address (EVM: lower case or EIP-55). */
export function addressSpellings(address: string): string[] {
  const { normalized, kind } = normalizeAddress(address);
  const out = new Set([address.trim(), normalized]);
  if (kind === 'evm') out.add(getAddress(normalized));
  return [...out];
}

export function createStructuringScreener(opts: StructuringOptions): Screener {
  const windowMs = opts.windowMs ?? 24 * 60 * 60 * 1000;
  const minPayments = opts.minPayments ?? 2;
  return {
    name: 'structuring',
    async screen(s) {
      if (s.kind !== 'payment' || s.amountTiyn >= opts.thresholdTiyn || s.addresses.length === 0) {
        return result('structuring', 'none');
      }
      const spellings = [...new Set(s.addresses.flatMap(addressSpellings))];
      const since = new Date(s.at.getTime() - windowMs);
      const rows = await s.q<{ id: string; amount_tiyn: bigint }[]>`
        select id, amount_tiyn from payments
        where from_addresses && ${s.q.array(spellings)}::text[]
          and status in ('seen', 'confirmed') and seen_at > ${since} and seen_at <= ${s.at}
          and amount_tiyn < ${opts.thresholdTiyn.toString()}`;
      const ids = new Set(rows.map((r) => r.id));
      let total = rows.reduce((sum, r) => sum + BigInt(r.amount_tiyn), 0n);
      let count = rows.length;
      // Screened before it was recorded: count it too.
      if (!s.paymentId || !ids.has(s.paymentId)) {
        total += s.amountTiyn;
        count += 1;
      }
      if (count < minPayments || total < opts.thresholdTiyn) return result('structuring', 'none');
      return result('structuring', 'high', [
        {
          code: 'structuring',
          message:
            `${count} payments from the same sender within ${Math.round(windowMs / 3_600_000)} h, each under ` +
            `the threshold, total ${formatKzt(total)} KZT (threshold ${formatKzt(opts.thresholdTiyn)} KZT)`,
        },
      ]);
    },
  };
}
