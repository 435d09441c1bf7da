// Address derivation (SPEC section 9): our pure-JS deriveAddress beside bip32 + tiny-secp256k1 (WASM)
// with bitcoinjs-lib, on the same account key over the same indexes, in one process.
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { sha256 } from '@noble/hashes/sha2.js';
import { createBase58check } from '@scure/base';
import { BIP32Factory } from 'bip32';
import { networks, payments } from 'bitcoinjs-lib';
import * as ecc from 'tiny-secp256k1';
import { deriveAddress } from '../src/chains/utxo/derive';

// BIP84 test vector account key ("abandon … about", m/84'/0'/0').
const ZPUB =
  'zpub6rFR7y4Q2AijBEqTUquhVz398htDFrtymD9xYYfG1m4wAcvPhXNf' +
  'E3EfH1r1ADqtfSdVCToUG868RvUUkgDKf31mGDtKsAYz2oz2AGutZYs';

export interface DeriveBenchResult {
  ours: { addressesPerSec: number };
  /** bip32 as usually called: parse the account key, then m/0/i, for each address. */
  baseline: { addressesPerSec: number };
  /** ours / baseline. */
  ratio: number;
  /** bip32 with the m/0 node kept between addresses (what our deriver does), for a stricter comparison. */
  baselineCachedBranch: { addressesPerSec: number };
  ratioCachedBranch: number;
  count: number;
}

/** The same key with xpub version bytes, because bip32 only reads the network's own version. */
function asXpub(zpub: string): string {
  const b58 = createBase58check(sha256);
  const bytes = b58.decode(zpub);
  bytes.set([0x04, 0x88, 0xb2, 0x1e], 0);
  return b58.encode(bytes);
}

function rate(count: number, fn: (i: number) => string): number {
  const start = performance.now();
  for (let i = 0; i < count; i++) fn(i);
  const ms = performance.now() - start;
  return Math.round((count / ms) * 1000);
}

export async function benchDerive(opts: { count?: number } = {}): Promise<DeriveBenchResult> {
  const count = opts.count ?? 5000;
  const xpub = asXpub(ZPUB);
  const bip32 = BIP32Factory(ecc);

  const ours = (i: number): string => deriveAddress('bitcoin', ZPUB, i).address;
  // The usual bip32 call: parse the account key, then m/0/i for each address.
  const baseline = (i: number): string => {
    const child = bip32.fromBase58(xpub, networks.bitcoin).derive(0).derive(i);
    return payments.p2wpkh({ pubkey: child.publicKey, network: networks.bitcoin }).address!;
  };
  const branch = bip32.fromBase58(xpub, networks.bitcoin).derive(0);
  const cached = (i: number): string =>
    payments.p2wpkh({ pubkey: branch.derive(i).publicKey, network: networks.bitcoin }).address!;

  // Warm-up (JIT, WASM instantiation, noble's base-point tables) and a check that both agree.
  const warm = Math.min(500, count);
  for (let i = 0; i < warm; i++) {
    const a = ours(i);
    const b = baseline(i);
    const c = cached(i);
    if (a !== b || a !== c) throw new Error(`derivation mismatch at index ${i}: ${a}, ${b}, ${c}`);
  }

  // Interleave the two measurements twice so a slow moment of the machine does not favour one side.
  const half = Math.max(1, Math.floor(count / 2));
  const o1 = rate(half, ours);
  const b1 = rate(half, baseline);
  const c1 = rate(half, cached);
  const c2 = rate(half, (i) => cached(i + half));
  const b2 = rate(half, (i) => baseline(i + half));
  const o2 = rate(half, (i) => ours(i + half));
  const oursPerSec = Math.round((o1 + o2) / 2);
  const basePerSec = Math.round((b1 + b2) / 2);
  const cachedPerSec = Math.round((c1 + c2) / 2);
  const ratio = (a: number, b: number): number => Math.round((a / b) * 100) / 100;
  return {
    ours: { addressesPerSec: oursPerSec },
    baseline: { addressesPerSec: basePerSec },
    ratio: ratio(oursPerSec, basePerSec),
    baselineCachedBranch: { addressesPerSec: cachedPerSec },
    ratioCachedBranch: ratio(oursPerSec, cachedPerSec),
    count: half * 2,
  };
}

const isMain = (() => {
  try {
    return (
      !!process.argv[1] && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url))
    );
  } catch {
    return false;
  }
})();

if (isMain) {
  const result = await benchDerive();
  console.log(JSON.stringify(result, null, 2));
}
