// Sanctions lists: an exact lookup of each address in the in-memory index built from every imported
// list. A listing for the asset being paid (or any EVM listing) is severe; the same string listed
// under another asset (BTC/BCH legacy encodings) is high, so a person looks at it.
import { NETWORKS } from '../../chains/networks';
import type { Queryable } from '../../db/client';
import type { AddressIndex } from '../lists/lookup';
import { type Reason, type Risk, result, type Screener, type ScreenSubject } from '../types';

export interface ListSnapshot {
  readonly index: AddressIndex;
  /** list id → display name. */
  readonly names: ReadonlyMap<string, string>;
}

export function createSanctionsScreener(lists: (q: Queryable) => Promise<ListSnapshot>): Screener {
  return {
    name: 'sanctions',
    async screen(s: ScreenSubject) {
      const { index, names } = await lists(s.q);
      const family = NETWORKS[s.network].family;
      let risk: Risk = 'none';
      const reasons: Reason[] = [];
      for (const address of new Set(s.addresses)) {
        for (const m of index.match(address, { ...(s.asset ? { asset: s.asset } : {}), family })) {
          const list = names.get(m.listId) ?? m.listId;
          const who = m.entry.partyName ? ` (${m.entry.partyName})` : '';
          const programs = m.entry.programs?.length ? `; programmes ${m.entry.programs.join(', ')}` : '';
          const why = m.entry.reason ? `; ${m.entry.reason}` : '';
          if (m.assetMatch) {
            risk = 'severe';
            reasons.push({
              code: 'sanctions_list_match',
              message: `${address} is listed on ${list} for ${m.entry.asset}${who}${programs}${why}`,
            });
          } else {
            if (risk !== 'severe') risk = 'high';
            reasons.push({
              code: 'sanctions_list_match_other_asset',
              message: `${address} is listed on ${list} under ${m.entry.asset}${who}${programs}${why}`,
            });
          }
        }
      }
      return result('sanctions', risk, reasons);
    },
  };
}
