// In-memory screening index: normalized address → compact records in typed arrays, so a million listed
// addresses cost one Map entry and ~15 bytes of records each, not one object per entry. Runs in workerd.
//
// Matching rule: every listing of the normalized address is returned; the context never hides a hit.
// - An EVM address is one account on every EVM network and for every token, so a 0x address listed under
//   ETH, USDT, USDC, ARB, BSC… (or even under TRX) applies to any EVM payer and any EVM asset.
// - UTXO and Tron encodings embed their chain (version byte or hrp): the same string under two assets
//   means the same key or script hash (BTC/BCH/BSV legacy, Litecoin's old P2SH `3…`), the same holder.
// `assetMatch` says whether the listing names the asset being paid (or any asset, or is EVM), so a
// screener can grade a cross-asset hit lower; it never drops one.

import { normalizeAddress } from './normalize';
import { type AddressKind, ANY_ASSET, type ListEntry } from './types';

export interface MatchContext {
  asset?: string;
  family?: 'evm' | 'utxo';
}

export interface AddressMatch {
  listId: string;
  entry: ListEntry;
  /** The listing is for the context's asset (or for any asset, or an EVM address in an EVM context). */
  assetMatch: boolean;
}

interface EntryMeta {
  partyName?: string;
  programs?: string[];
  sourceId?: string;
  reason?: string;
}

const KINDS: readonly AddressKind[] = ['evm', 'bech32', 'base58', 'other'];
const NONE = -1;

/** Interns repeated strings/objects (list ids, assets, party details) behind small integers. */
class Interner<T> {
  readonly values: T[] = [];
  private readonly ids = new Map<string, number>();
  // Bulk loads repeat the same list id and asset row after row.
  private lastKey: string | undefined;
  private lastId = 0;
  id(key: string, value: T): number {
    if (key === this.lastKey) return this.lastId;
    let id = this.ids.get(key);
    if (id === undefined) {
      id = this.values.length;
      this.values.push(value);
      this.ids.set(key, id);
    }
    this.lastKey = key;
    this.lastId = id;
    return id;
  }
}

function grow<A extends Int32Array | Uint16Array | Uint8Array>(array: A, size: number): A {
  const bigger = new (array.constructor as new (n: number) => A)(size);
  bigger.set(array);
  return bigger;
}

function metaKey(meta: EntryMeta): string {
  return [
    meta.partyName ?? '',
    (meta.programs ?? []).join('\u0001'),
    meta.sourceId ?? '',
    meta.reason ?? '',
  ].join('\u0000');
}

export class AddressIndex {
  /** normalized address → first record; further records of the same address chain through `next`. */
  private readonly heads = new Map<string, number>();
  private next: Int32Array;
  private listOf: Uint16Array;
  private assetOf: Uint16Array;
  private kindOf: Uint8Array;
  private metaOf: Int32Array;
  private records = 0;
  private readonly lists = new Interner<string>();
  private readonly assets = new Interner<string>();
  private readonly metas = new Interner<EntryMeta>();

  constructor(capacity = 1024) {
    const size = Math.max(16, capacity);
    this.next = new Int32Array(size);
    this.listOf = new Uint16Array(size);
    this.assetOf = new Uint16Array(size);
    this.kindOf = new Uint8Array(size);
    this.metaOf = new Int32Array(size);
  }

  /** Listings held (an address listed twice counts twice). */
  get size(): number {
    return this.records;
  }

  /** Distinct normalized addresses. */
  get addressCount(): number {
    return this.heads.size;
  }

  /** Adds one listing; an identical listing (same list, asset and details) is kept once. */
  add(entry: ListEntry, listId: string): void {
    const { normalized, kind } = normalizeAddress(entry.address);
    const list = this.lists.id(listId, listId);
    if (list > 0xffff) throw new RangeError('AddressIndex holds at most 65536 lists');
    const asset = this.assets.id(entry.asset, entry.asset);
    if (asset > 0xffff) throw new RangeError('AddressIndex holds at most 65536 assets');
    const meta = this.metaIdOf(entry);

    const head = this.heads.get(normalized);
    for (let r = head ?? NONE; r !== NONE; r = this.next[r]!) {
      if (this.listOf[r] === list && this.assetOf[r] === asset && this.metaOf[r] === meta) return;
    }
    if (this.records === this.next.length) this.growTo(this.records * 2);
    const r = this.records++;
    this.next[r] = head ?? NONE;
    this.listOf[r] = list;
    this.assetOf[r] = asset;
    this.kindOf[r] = KINDS.indexOf(kind);
    this.metaOf[r] = meta;
    this.heads.set(normalized, r);
  }

  addAll(entries: Iterable<ListEntry>, listId: string): void {
    for (const entry of entries) this.add(entry, listId);
  }

  has(address: string): boolean {
    return this.heads.has(normalizeAddress(address).normalized);
  }

  match(address: string, context: MatchContext = {}): AddressMatch[] {
    const { normalized } = normalizeAddress(address);
    const head = this.heads.get(normalized);
    if (head === undefined) return [];
    const matches: AddressMatch[] = [];
    for (let r = head; r !== NONE; r = this.next[r]!) {
      const entry = this.entryAt(r, normalized);
      matches.push({
        listId: this.lists.values[this.listOf[r]!]!,
        entry,
        assetMatch: assetMatches(entry, context),
      });
    }
    return matches;
  }

  private entryAt(r: number, address: string): ListEntry {
    const entry: ListEntry = {
      address,
      asset: this.assets.values[this.assetOf[r]!]!,
      kind: KINDS[this.kindOf[r]!]!,
    };
    const m = this.metaOf[r]!;
    if (m !== NONE) {
      const meta = this.metas.values[m]!;
      if (meta.partyName !== undefined) entry.partyName = meta.partyName;
      if (meta.programs !== undefined) entry.programs = [...meta.programs];
      if (meta.sourceId !== undefined) entry.sourceId = meta.sourceId;
      if (meta.reason !== undefined) entry.reason = meta.reason;
    }
    return entry;
  }

  private metaIdOf(entry: ListEntry): number {
    const { partyName, programs, sourceId, reason } = entry;
    if (partyName === undefined && programs === undefined && sourceId === undefined && reason === undefined) {
      return NONE;
    }
    const meta: EntryMeta = {};
    if (entry.partyName !== undefined) meta.partyName = entry.partyName;
    if (entry.programs !== undefined) meta.programs = [...entry.programs];
    if (entry.sourceId !== undefined) meta.sourceId = entry.sourceId;
    if (entry.reason !== undefined) meta.reason = entry.reason;
    return this.metas.id(metaKey(meta), meta);
  }

  private growTo(size: number): void {
    this.next = grow(this.next, size);
    this.listOf = grow(this.listOf, size);
    this.assetOf = grow(this.assetOf, size);
    this.kindOf = grow(this.kindOf, size);
    this.metaOf = grow(this.metaOf, size);
  }
}

function assetMatches(entry: ListEntry, context: MatchContext): boolean {
  if (entry.kind === 'evm' || entry.asset === ANY_ASSET) return true;
  if (context.asset !== undefined) return entry.asset === context.asset;
  return context.family !== 'evm';
}

/** Identity of a listing across list versions: one asset, one normalized address. */
export function entryKey(entry: Pick<ListEntry, 'asset' | 'address'>): string {
  return `${entry.asset}\u0000${normalizeAddress(entry.address).normalized}`;
}

/**
 * What changed between two versions of one list, by `entryKey` (a change of party name or programme
 * alone is neither added nor removed). Each side lists every key once.
 */
export function diff(
  oldEntries: Iterable<ListEntry>,
  newEntries: Iterable<ListEntry>,
): { added: ListEntry[]; removed: ListEntry[] } {
  const oldByKey = byKey(oldEntries);
  const newByKey = byKey(newEntries);
  const added = [...newByKey].filter(([key]) => !oldByKey.has(key)).map(([, entry]) => entry);
  const removed = [...oldByKey].filter(([key]) => !newByKey.has(key)).map(([, entry]) => entry);
  return { added, removed };
}

function byKey(entries: Iterable<ListEntry>): Map<string, ListEntry> {
  const map = new Map<string, ListEntry>();
  for (const entry of entries) {
    const key = entryKey(entry);
    if (!map.has(key)) map.set(key, entry);
  }
  return map;
}
