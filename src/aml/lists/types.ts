// One listed address as parsed from a sanctions source. Plain JSON-safe data, so a list version can be
// stored row by row (unique on `entryKey`) and compared with the next version (lookup.ts `diff`).

export type AddressKind = 'evm' | 'bech32' | 'base58' | 'other';

/** Asset of an operator's entry that names no asset: the address is listed for every asset. */
export const ANY_ASSET = '*';

export interface ListEntry {
  /** Normalized (normalize.ts): EVM and bech32 lowercased, base58 exact. */
  address: string;
  /** Our asset code (BTC, ETH, USDT…; OFAC's XBT becomes BTC), other OFAC codes as given, or `*`. */
  asset: string;
  kind: AddressKind;
  partyName?: string;
  programs?: string[];
  /** Where the entry comes from, e.g. the OFAC DistinctParty FixedRef. */
  sourceId?: string;
  /** Operator lists: why the address is listed. */
  reason?: string;
}
