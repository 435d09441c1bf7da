// secp256k1 arithmetic for public derivation: a fixed-base table and Jacobian additions, the cost of
// every address (see the comment below), plus BIP86's taproot tweak.

import { schnorr, secp256k1 } from '@noble/curves/secp256k1.js';
import { bytesToNumberBE, numberToBytesBE } from '@noble/curves/utils.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha512 } from '@noble/hashes/sha2.js';
import type { HDKey } from '@scure/bip32';

const Point = secp256k1.Point;
const CURVE_ORDER = Point.Fn.ORDER;

// ---------------------------------------------------------------------------------------------
// Fixed-base arithmetic. Each address costs one multiplication of the base point by a public scalar
// (the HMAC output), which dominates the cost. noble's generic path spends ~34 complete projective
// additions on it; here a table of d·2^(8j)·G (affine, signed digits d in 1..128, built once with noble
// on first use, ~4k points) and Jacobian mixed additions with secp256k1's fast reduction do it in ≤33
// cheaper additions that also fold in the parent point, with one inversion at the end. Scalars and
// points are public, so variable time is fine. Exceptional cases (doubling, cancellation) use noble.

export interface Affine {
  readonly x: bigint;
  readonly y: bigint;
}

const FIELD = Point.Fp.ORDER;
const MASK256 = (1n << 256n) - 1n;
const FOLD = 0x1000003d1n; // 2^256 mod p
const WINDOWS = 33; // 256 bits in signed 8-bit digits, plus the last carry
const DIGITS = 128;

const fmul = (a: bigint, b: bigint): bigint => {
  let x = a * b;
  x = (x & MASK256) + (x >> 256n) * FOLD;
  x = (x & MASK256) + (x >> 256n) * FOLD;
  return x >= FIELD ? x - FIELD : x;
};
const fsub = (a: bigint, b: bigint): bigint => {
  const x = a - b;
  return x < 0n ? x + FIELD : x;
};

let baseTable: bigint[] | undefined;
/** Flat [x, y, …] of d·2^(8j)·G for window j in 0..32 and digit d in 1..128. */
export function getBaseTable(): bigint[] {
  if (baseTable) return baseTable;
  const points: InstanceType<typeof Point>[] = [];
  let base = Point.BASE;
  for (let j = 0; j < WINDOWS; j++) {
    let acc = base;
    points.push(acc);
    for (let d = 2; d <= DIGITS; d++) {
      acc = acc.add(base);
      points.push(acc);
    }
    base = acc.double(); // 256·base
  }
  const inverses = Point.Fp.invertBatch(points.map((p) => p.Z));
  const flat: bigint[] = new Array(points.length * 2);
  points.forEach((p, i) => {
    const { x, y } = p.toAffine(inverses[i]);
    flat[2 * i] = x;
    flat[2 * i + 1] = y;
  });
  baseTable = flat;
  return flat;
}

export interface Jacobian {
  readonly X: bigint;
  readonly Y: bigint;
  readonly Z: bigint;
}

/**
 * start + k·G for 0 <= k < n, start not the identity, in Jacobian coordinates (the caller converts,
 * so that many results can share one inversion); undefined in the exceptional cases.
 */
function addBaseMultipleJacobian(start: Affine, k: bigint): Jacobian | undefined {
  const table = getBaseTable();
  let X = start.x;
  let Y = start.y;
  let Z = 1n;
  for (let j = 0; k > 0n; j++) {
    let d = Number(k & 255n);
    k >>= 8n;
    if (d > DIGITS) {
      d -= 256;
      k += 1n;
    }
    if (d === 0) continue;
    const i = (j * DIGITS + Math.abs(d) - 1) * 2;
    const ty = d > 0 ? table[i + 1]! : FIELD - table[i + 1]!;
    const zz = fmul(Z, Z);
    const h = fsub(fmul(table[i]!, zz), X);
    const r = fsub(fmul(ty, fmul(zz, Z)), Y);
    if (h === 0n) return undefined;
    const hh = fmul(h, h);
    const hhh = fmul(hh, h);
    const v = fmul(X, hh);
    const x3 = fsub(fsub(fsub(fmul(r, r), hhh), v), v);
    Y = fsub(fmul(r, fsub(v, x3)), fmul(Y, hhh));
    X = x3;
    Z = fmul(Z, h);
  }
  return { X, Y, Z };
}

/** The affine point of `p`, given zi = 1/Z. */
export function toAffine(p: Jacobian, zi: bigint): Affine {
  if (p.Z === 1n) return { x: p.X, y: p.Y };
  const zi2 = fmul(zi, zi);
  const x = fmul(p.X, zi2);
  const y = fmul(p.Y, fmul(zi2, zi));
  // Cheap guard against an arithmetic slip: the result must be on y² = x³ + 7.
  if (fmul(y, y) !== (fmul(fmul(x, x), x) + 7n) % FIELD)
    throw new Error('fixed-base addition left the curve');
  return { x, y };
}

/** 1/v for every v (none zero) with one field inversion (Montgomery's trick). */
export function invertAll(values: readonly bigint[]): bigint[] {
  if (values.length === 0) return [];
  const prefix: bigint[] = new Array(values.length);
  let acc = 1n;
  for (let i = 0; i < values.length; i++) {
    prefix[i] = acc;
    acc = fmul(acc, values[i]!);
  }
  let inv = Point.Fp.inv(acc);
  const out: bigint[] = new Array(values.length);
  for (let i = values.length - 1; i >= 0; i--) {
    out[i] = fmul(inv, prefix[i]!);
    inv = fmul(inv, values[i]!);
  }
  return out;
}

/** start + k·G as an affine point; undefined in the exceptional cases. */
export function addBaseMultiple(start: Affine, k: bigint): Affine | undefined {
  const p = addBaseMultipleJacobian(start, k);
  return p && toAffine(p, p.Z === 1n ? 1n : Point.Fp.inv(p.Z));
}

/** start + k·G through noble's generic code (the rare exceptional cases); undefined at infinity. */
function addBaseMultipleSlow(start: Affine, k: bigint): Affine | undefined {
  const sum = Point.fromAffine(start).add(Point.BASE.multiplyUnsafe(k));
  return sum.is0() ? undefined : sum.toAffine();
}

export function compress(p: Affine): Uint8Array {
  const out = new Uint8Array(33);
  out[0] = (p.y & 1n) === 0n ? 0x02 : 0x03;
  out.set(numberToBytesBE(p.x, 32), 1);
  return out;
}

/** A child point on its way: Jacobian from the fast path, or already affine from a slow one. */
export type ChildPoint = { readonly jacobian: Jacobian } | { readonly affine: Affine };

/**
 * Derives children of one fixed node: the parent point, its encoding and the HMAC keyed with its chain
 * code are computed once, so each address costs one HMAC-SHA512 and one fixed-base addition.
 */
export function branchChildren(node: HDKey): (index: number) => ChildPoint {
  const pub = node.publicKey!;
  const parent = Point.fromBytes(pub).toAffine();
  const keyed = hmac.create(sha512, node.chainCode!);
  const data = new Uint8Array(37);
  data.set(pub, 0);
  // BIP32's invalid child (parse256(IL) >= n or the identity, chance ~2^-127) moves on to the next
  // index; the reference code does exactly that.
  const reference = (index: number): ChildPoint => ({
    affine: Point.fromBytes(node.deriveChild(index).publicKey!).toAffine(),
  });
  return (index) => {
    data[33] = index >>> 24;
    data[34] = (index >>> 16) & 0xff;
    data[35] = (index >>> 8) & 0xff;
    data[36] = index & 0xff;
    const I = keyed.clone().update(data).digest();
    const tweak = bytesToNumberBE(I.subarray(0, 32));
    if (tweak >= CURVE_ORDER) return reference(index);
    const jacobian = addBaseMultipleJacobian(parent, tweak);
    if (jacobian) return { jacobian };
    const slow = addBaseMultipleSlow(parent, tweak);
    return slow ? { affine: slow } : reference(index);
  };
}

/** BIP86: the output key is the internal key tweaked by hash_TapTweak(x) with no script tree. */
export function taprootOutputKey(internal: Affine): Uint8Array {
  const xBytes = numberToBytesBE(internal.x, 32);
  const even = (internal.y & 1n) === 0n ? internal : { x: internal.x, y: FIELD - internal.y };
  const t = bytesToNumberBE(schnorr.utils.taggedHash('TapTweak', xBytes));
  if (t >= CURVE_ORDER) throw new Error('taproot tweak out of range');
  const output = addBaseMultiple(even, t) ?? addBaseMultipleSlow(even, t);
  if (!output) throw new Error('taproot output key is the point at infinity');
  return numberToBytesBE(output.x, 32);
}
