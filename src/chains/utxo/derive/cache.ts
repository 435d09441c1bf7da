// Derivers by key text (bounded, least recently used first out) and the batch entry points invoice
// creation uses: inline here, or on a Node derivation thread (derive-pool.ts, never in the Worker).

import type { NetworkId } from '../../networks';
import { getBaseTable } from './curve';
import { deriveWith, type InternalDeriver, makeDeriver } from './deriver';
import { parseAccountKey } from './descriptor';
import type { DerivedAddress, Deriver } from './types';

export interface DeriverCache {
  /** The deriver for this account key, parsed on first use. */
  get(network: NetworkId, keyText: string): Deriver;
  deriveAddress(network: NetworkId, keyText: string, index: number): DerivedAddress;
  readonly size: number;
  clear(): void;
}

interface InternalDeriverCache extends DeriverCache {
  get(network: NetworkId, keyText: string): InternalDeriver;
}

/** A bounded cache of derivers by key text, least recently used evicted first. */
export function createDeriverCache(maxSize = 1000): DeriverCache {
  return makeDeriverCache(maxSize);
}

function makeDeriverCache(maxSize: number): InternalDeriverCache {
  const map = new Map<string, InternalDeriver>();
  const get = (network: NetworkId, keyText: string): InternalDeriver => {
    const id = `${network}\n${keyText.trim()}`;
    let d = map.get(id);
    if (d) {
      map.delete(id);
    } else {
      d = makeDeriver(parseAccountKey(network, keyText));
      if (map.size >= maxSize) map.delete(map.keys().next().value!);
    }
    map.set(id, d);
    return d;
  };
  return {
    get,
    deriveAddress: (network, keyText, index) => get(network, keyText).deriveAddress(index),
    get size() {
      return map.size;
    },
    clear: () => map.clear(),
  };
}

// A pure memo (same input, same output): sharing it process-wide changes nothing but speed.
const sharedCache = makeDeriverCache(1000);

/** Receive address `index` of an account key, with parsed keys cached. */
export function deriveAddress(network: NetworkId, keyText: string, index: number): DerivedAddress {
  return sharedCache.deriveAddress(network, keyText, index);
}

/** Builds the base-point table now (~0.3 s) rather than on the first address. */
export function warmDerivation(): void {
  getBaseTable();
}

export interface AddressJob {
  readonly network: NetworkId;
  readonly keyText: string;
  readonly index: number;
}

/**
 * Receive addresses of any keys in one pass (the hot path of invoice creation, a batch of concurrent
 * invoices at a time): one field inversion for all of them instead of one each, and the base-point
 * table stays warm in the CPU cache while it is used.
 */
export function deriveAddresses(jobs: readonly AddressJob[]): DerivedAddress[] {
  return deriveWith(jobs.map((j) => ({ deriver: sharedCache.get(j.network, j.keyText), index: j.index })));
}

/** Receive addresses for many jobs, in order: inline, or on a derivation thread (derive-pool.ts, Node). */
export type DeriveMany = (jobs: readonly AddressJob[]) => Promise<DerivedAddress[]>;

export const deriveInline: DeriveMany = async (jobs) => deriveAddresses(jobs);
