// Watch-only address derivation for the UTXO chains: a merchant gives an account extended public key
// (xpub/zpub/tpub/vpub/Ltub) or an output descriptor (wpkh/tr); every invoice gets the next receive
// address. Pure JS (noble/scure) because this also runs inside workerd, where WASM secp256k1 crashes.
// The gateway never holds a private key: anything that looks like one is refused.

import { schnorr, secp256k1 } from '@noble/curves/secp256k1.js';
import { bytesToNumberBE, numberToBytesBE } from '@noble/curves/utils.js';
import { hmac } from '@noble/hashes/hmac.js';
import { ripemd160 } from '@noble/hashes/legacy.js';
import { sha256, sha512 } from '@noble/hashes/sha2.js';
import { bech32, bech32m, createBase58check, hex } from '@scure/base';
import { HDKey } from '@scure/bip32';
import { ValidationError } from '../../lib/errors';
import type { NetworkId } from '../networks';
import {
  type ExtendedKeyVersion,
  KNOWN_PUBLIC_VERSIONS,
  PRIVATE_VERSIONS,
  type UtxoParams,
  utxoParams,
} from './params';

export type ScriptType = 'p2wpkh' | 'p2tr';

export interface AccountKey {
  readonly network: NetworkId;
  readonly scriptType: ScriptType;
  readonly source: 'xpub' | 'descriptor';
  /** As given, trimmed. */
  readonly text: string;
  /** Key origin from a descriptor: master fingerprint (8 hex) and path (`m/84h/0h/0h`). */
  readonly origin?: { readonly fingerprint: string; readonly path: string };
}

export interface DerivedAddress {
  readonly address: string;
  readonly scriptPubKeyHex: string;
}

export interface Deriver {
  readonly key: AccountKey;
  deriveAddress(index: number): DerivedAddress;
  firstAddress(): string;
}

export type AccountKeyProblem =
  | 'malformed'
  | 'checksum'
  | 'network'
  | 'private_key'
  | 'hardened'
  | 'unsupported';

/** The account key cannot be used; `reason` says why, the message says how to fix it. */
export class InvalidAccountKeyError extends ValidationError {
  readonly reason: AccountKeyProblem;
  constructor(reason: AccountKeyProblem, message: string, field = 'xpub') {
    super(message, [{ path: field, message }], 'invalid_account_key', 422);
    this.reason = reason;
    // ValidationError types `name` as its own literal; at run time the name says what failed.
    Object.defineProperty(this, 'name', { value: 'InvalidAccountKeyError' });
  }
}

export type AddressProblem = 'malformed' | 'network';

export class InvalidAddressError extends ValidationError {
  readonly reason: AddressProblem;
  constructor(reason: AddressProblem, message: string, field = 'address') {
    super(message, [{ path: field, message }], 'invalid_address', 422);
    this.reason = reason;
    Object.defineProperty(this, 'name', { value: 'InvalidAddressError' });
  }
}

const Point = secp256k1.Point;
const CURVE_ORDER = Point.Fn.ORDER;
const HARDENED = 0x80000000;
const base58check = createBase58check(sha256);
const hash160 = (data: Uint8Array): Uint8Array => ripemd160(sha256(data));

// ---------------------------------------------------------------------------------------------
// Descriptor checksum (BIP380)

const INPUT_CHARSET =
  '0123456789()[],\'/*abcdefgh@:$%{}IJKLMNOPQRSTUVWXYZ&+-.;<=>?!^_|~ijklmnopqrstuvwxyzABCDEFGH`#"\\ ';
const CHECKSUM_CHARSET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
const GENERATOR = [0xf5dee51989n, 0xa9fdca3312n, 0x1bab10e32dn, 0x3706b1677an, 0x644d626ffdn];

function polymod(symbols: readonly number[]): bigint {
  let chk = 1n;
  for (const value of symbols) {
    const top = chk >> 35n;
    chk = ((chk & 0x7ffffffffn) << 5n) ^ BigInt(value);
    for (let i = 0; i < 5; i++) if ((top >> BigInt(i)) & 1n) chk ^= GENERATOR[i]!;
  }
  return chk;
}

/** The 8-character BIP380 checksum of a descriptor (without `#…`); undefined for characters outside it. */
export function descriptorChecksum(descriptor: string): string | undefined {
  const symbols: number[] = [];
  const groups: number[] = [];
  for (const c of descriptor) {
    const v = INPUT_CHARSET.indexOf(c);
    if (v < 0) return undefined;
    symbols.push(v & 31);
    groups.push(v >> 5);
    if (groups.length === 3) {
      symbols.push(groups[0]! * 9 + groups[1]! * 3 + groups[2]!);
      groups.length = 0;
    }
  }
  if (groups.length === 1) symbols.push(groups[0]!);
  else if (groups.length === 2) symbols.push(groups[0]! * 3 + groups[1]!);
  const chk = polymod([...symbols, 0, 0, 0, 0, 0, 0, 0, 0]) ^ 1n;
  let out = '';
  for (let i = 0; i < 8; i++) out += CHECKSUM_CHARSET[Number((chk >> BigInt(5 * (7 - i))) & 31n)];
  return out;
}

// ---------------------------------------------------------------------------------------------
// Parsing

interface ParsedKey {
  readonly key: AccountKey;
  readonly node: HDKey;
  /** Non-hardened steps from the given key down to the receive branch. */
  readonly branch: readonly number[];
}

const PRIVATE_PREFIX = /^(xprv|yprv|zprv|tprv|uprv|vprv|Ltpv|Mtpv)/;
const PRIVATE_REFUSAL =
  'this is a private key: the gateway never holds private keys, and this one should now be treated as ' +
  'exposed. Paste the account public key (xpub/zpub/tpub/vpub) or a public descriptor instead';

function refusePrivate(field: string): never {
  throw new InvalidAccountKeyError('private_key', PRIVATE_REFUSAL, field);
}

function describe(versions: readonly ExtendedKeyVersion[]): string {
  return versions
    .filter((v) => v.use === 'watch')
    .map((v) => v.prefix)
    .join(', ');
}

/** Decodes and checks one base58 extended public key for `params`' network. */
function decodeExtendedKey(text: string, params: UtxoParams, field: string): HDKey {
  if (PRIVATE_PREFIX.test(text)) refusePrivate(field);
  let bytes: Uint8Array;
  try {
    bytes = base58check.decode(text);
  } catch {
    throw new InvalidAccountKeyError(
      'malformed',
      'not a valid extended public key: a character is wrong or missing (base58 checksum failed)',
      field,
    );
  }
  // A WIF private key (compressed or not) for any of our chains.
  if ((bytes.length === 33 || bytes.length === 34) && [0x80, 0xef, 0xb0].includes(bytes[0]!)) {
    refusePrivate(field);
  }
  if (bytes.length !== 78) {
    throw new InvalidAccountKeyError('malformed', 'not an extended public key (wrong length)', field);
  }
  const version = ((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0;
  if (PRIVATE_VERSIONS.has(version) || bytes[45] === 0) refusePrivate(field);
  const accepted = params.publicVersions.find((v) => v.version === version);
  if (!accepted) {
    const known = KNOWN_PUBLIC_VERSIONS.find((v) => v.version === version);
    const expected = describe(params.publicVersions);
    const kind = params.testnet ? 'testnet' : 'mainnet';
    throw new InvalidAccountKeyError(
      known ? 'network' : 'malformed',
      known
        ? `a ${known.prefix} key is not for ${params.network}; use a ${kind} key (${expected})`
        : `unknown extended key version; ${params.network} accepts ${expected}`,
      field,
    );
  }
  if (accepted.use === 'p2sh-p2wpkh') {
    throw new InvalidAccountKeyError(
      'unsupported',
      `a ${accepted.prefix} key is for P2SH-wrapped SegWit (BIP49) addresses, which are not supported; ` +
        'export the native SegWit (BIP84) account key or a wpkh()/tr() descriptor',
      field,
    );
  }
  try {
    return HDKey.fromExtendedKey(text, { public: version, private: 0 });
  } catch {
    throw new InvalidAccountKeyError(
      'malformed',
      'the extended public key is invalid (bad point or header)',
      field,
    );
  }
}

const ORIGIN = /^\[([0-9a-fA-F]{8})((?:\/[0-9]+['hH]?)*)\]/;
const STEP = /^([0-9]+)(['hH]?)$/;
const MULTIPATH = /^<([0-9]+(?:;[0-9]+)+)>$/;

function parseIndex(text: string, field: string): number {
  const n = Number(text);
  if (!/^[0-9]{1,10}$/.test(text) || n >= HARDENED) {
    throw new InvalidAccountKeyError('malformed', `derivation step ${text} is out of range`, field);
  }
  return n;
}

/** Parses the `/0/*` (or `/<0;1>/*`) tail after the key into the steps down to the receive branch. */
function parseBranch(tail: string, field: string): number[] {
  if (tail === '') {
    throw new InvalidAccountKeyError(
      'unsupported',
      'the descriptor must end with /* so that every invoice gets a fresh address',
      field,
    );
  }
  if (!tail.startsWith('/')) throw new InvalidAccountKeyError('malformed', 'malformed key path', field);
  const parts = tail.slice(1).split('/');
  const last = parts.pop();
  if (last === "*'" || last === '*h' || last === '*H') {
    throw new InvalidAccountKeyError(
      'hardened',
      'a hardened wildcard (/*h) needs the private key; use an unhardened /* range',
      field,
    );
  }
  if (last !== '*') {
    throw new InvalidAccountKeyError(
      'unsupported',
      'the descriptor must end with /* so that every invoice gets a fresh address',
      field,
    );
  }
  let multipaths = 0;
  return parts.map((part) => {
    const multi = MULTIPATH.exec(part);
    if (multi) {
      if (++multipaths > 1) {
        throw new InvalidAccountKeyError('unsupported', 'only one <a;b> multipath group is supported', field);
      }
      // BIP389: the first path is the receive branch.
      return parseIndex(multi[1]!.split(';')[0]!, field);
    }
    const step = STEP.exec(part);
    if (!step) throw new InvalidAccountKeyError('malformed', `malformed derivation step "${part}"`, field);
    if (step[2]) {
      throw new InvalidAccountKeyError(
        'hardened',
        'hardened derivation below an extended public key needs the private key',
        field,
      );
    }
    return parseIndex(step[1]!, field);
  });
}

function parseOrigin(fp: string, pathText: string, params: UtxoParams, field: string) {
  const steps = pathText === '' ? [] : pathText.slice(1).split('/');
  const norm = steps.map((s) => {
    const m = STEP.exec(s)!;
    return { index: parseIndex(m[1]!, field), hardened: m[2] !== '' };
  });
  // A standard BIP43 path names its coin: a Bitcoin account pasted for Litecoin (or a mainnet account
  // for a test network) would receive into addresses the merchant's wallet never looks at.
  const [purpose, coin] = norm;
  if (purpose?.hardened && [44, 49, 84, 86].includes(purpose.index) && coin?.hardened) {
    if (coin.index !== params.coinType) {
      throw new InvalidAccountKeyError(
        'network',
        `the key origin's coin type ${coin.index}h is not ${params.network}'s (${params.coinType}h)`,
        field,
      );
    }
  }
  return {
    fingerprint: fp.toLowerCase(),
    path: ['m', ...norm.map((s) => `${s.index}${s.hardened ? 'h' : ''}`)].join('/'),
  };
}

function parseDescriptor(text: string, params: UtxoParams, network: NetworkId, field: string): ParsedKey {
  const hashes = text.split('#');
  if (hashes.length > 2)
    throw new InvalidAccountKeyError('malformed', "more than one '#' in descriptor", field);
  const body = hashes[0]!;
  const given = hashes[1];
  const computed = descriptorChecksum(body);
  if (computed === undefined) {
    throw new InvalidAccountKeyError(
      'malformed',
      'the descriptor has characters descriptors never use',
      field,
    );
  }
  if (given !== undefined) {
    if (given.length !== 8) {
      throw new InvalidAccountKeyError(
        'checksum',
        `a descriptor checksum has 8 characters, not ${given.length}`,
        field,
      );
    }
    if (given !== computed) {
      throw new InvalidAccountKeyError(
        'checksum',
        'descriptor checksum mismatch: the descriptor was changed or mistyped after it was exported',
        field,
      );
    }
  }
  const fn = /^([a-z_]+)\((.*)\)$/.exec(body);
  if (!fn) throw new InvalidAccountKeyError('malformed', 'not an output descriptor', field);
  const name = fn[1]!;
  const inner = fn[2]!;
  if (name !== 'wpkh' && name !== 'tr') {
    throw new InvalidAccountKeyError(
      'unsupported',
      `${name}() descriptors are not supported; use wpkh(…) or tr(…) with one extended public key`,
      field,
    );
  }
  if (/[(),{}]/.test(inner)) {
    throw new InvalidAccountKeyError(
      'unsupported',
      `only single-key ${name}() descriptors are supported (no script trees or nested functions)`,
      field,
    );
  }
  let rest = inner;
  let origin: AccountKey['origin'];
  if (rest.startsWith('[')) {
    const m = ORIGIN.exec(rest);
    if (!m) throw new InvalidAccountKeyError('malformed', 'malformed key origin [fingerprint/path]', field);
    origin = parseOrigin(m[1]!, m[2]!, params, field);
    rest = rest.slice(m[0].length);
  }
  const slash = rest.indexOf('/');
  const keyText = slash < 0 ? rest : rest.slice(0, slash);
  const node = decodeExtendedKey(keyText, params, field);
  const branch = parseBranch(slash < 0 ? '' : rest.slice(slash), field);
  const scriptType: ScriptType = name === 'wpkh' ? 'p2wpkh' : 'p2tr';
  const key: AccountKey = { network, scriptType, source: 'descriptor', text, ...(origin ? { origin } : {}) };
  return { key, node, branch };
}

function parseInternal(network: NetworkId, raw: string, field: string): ParsedKey {
  const params = utxoParams(network);
  if (!params) {
    throw new InvalidAccountKeyError('network', `${network} is not a UTXO network`, field);
  }
  if (typeof raw !== 'string') throw new InvalidAccountKeyError('malformed', 'expected a string', field);
  const text = raw.trim();
  if (text === '') throw new InvalidAccountKeyError('malformed', 'the account key is empty', field);
  if (PRIVATE_PREFIX.test(text)) refusePrivate(field);
  if (text.includes('(')) return parseDescriptor(text, params, network, field);
  if (/[/#[\]]/.test(text)) {
    throw new InvalidAccountKeyError(
      'malformed',
      'give the bare account key (xpub…) or a full descriptor such as wpkh([fingerprint/84h/0h/0h]xpub…/0/*)',
      field,
    );
  }
  const node = decodeExtendedKey(text, params, field);
  // A bare account key is BIP84: receive addresses are …/0/index.
  return { key: { network, scriptType: 'p2wpkh', source: 'xpub', text }, node, branch: [0] };
}

/**
 * Parses an account extended public key or a wpkh()/tr() output descriptor for `network`.
 * @throws InvalidAccountKeyError naming `field` (default `xpub`).
 */
export function parseAccountKey(network: NetworkId, text: string, field = 'xpub'): AccountKey {
  return parseInternal(network, text, field).key;
}

// ---------------------------------------------------------------------------------------------
// Derivation

function assertIndex(index: number): void {
  if (!Number.isInteger(index) || index < 0 || index >= HARDENED) {
    throw new RangeError(`address index must be an integer in 0..2^31-1, got ${index}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Fixed-base arithmetic. Each address costs one multiplication of the base point by a public scalar
// (the HMAC output), which dominates the cost. noble's generic path spends ~34 complete projective
// additions on it; here a table of d·2^(8j)·G (affine, signed digits d in 1..128, built once with noble
// on first use, ~4k points) and Jacobian mixed additions with secp256k1's fast reduction do it in ≤33
// cheaper additions that also fold in the parent point, with one inversion at the end. Scalars and
// points are public, so variable time is fine. Exceptional cases (doubling, cancellation) use noble.

interface Affine {
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
function getBaseTable(): bigint[] {
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

interface Jacobian {
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
function toAffine(p: Jacobian, zi: bigint): Affine {
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
function invertAll(values: readonly bigint[]): bigint[] {
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
function addBaseMultiple(start: Affine, k: bigint): Affine | undefined {
  const p = addBaseMultipleJacobian(start, k);
  return p && toAffine(p, p.Z === 1n ? 1n : Point.Fp.inv(p.Z));
}

/** start + k·G through noble's generic code (the rare exceptional cases); undefined at infinity. */
function addBaseMultipleSlow(start: Affine, k: bigint): Affine | undefined {
  const sum = Point.fromAffine(start).add(Point.BASE.multiplyUnsafe(k));
  return sum.is0() ? undefined : sum.toAffine();
}

function compress(p: Affine): Uint8Array {
  const out = new Uint8Array(33);
  out[0] = (p.y & 1n) === 0n ? 0x02 : 0x03;
  out.set(numberToBytesBE(p.x, 32), 1);
  return out;
}

/** A child point on its way: Jacobian from the fast path, or already affine from a slow one. */
type ChildPoint = { readonly jacobian: Jacobian } | { readonly affine: Affine };

/**
 * Derives children of one fixed node: the parent point, its encoding and the HMAC keyed with its chain
 * code are computed once, so each address costs one HMAC-SHA512 and one fixed-base addition.
 */
function branchChildren(node: HDKey): (index: number) => ChildPoint {
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
function taprootOutputKey(internal: Affine): Uint8Array {
  const xBytes = numberToBytesBE(internal.x, 32);
  const even = (internal.y & 1n) === 0n ? internal : { x: internal.x, y: FIELD - internal.y };
  const t = bytesToNumberBE(schnorr.utils.taggedHash('TapTweak', xBytes));
  if (t >= CURVE_ORDER) throw new Error('taproot tweak out of range');
  const output = addBaseMultiple(even, t) ?? addBaseMultipleSlow(even, t);
  if (!output) throw new Error('taproot output key is the point at infinity');
  return numberToBytesBE(output.x, 32);
}

function witnessAddress(hrp: string, version: number, program: Uint8Array): string {
  const words = bech32.toWords(program);
  words.unshift(version);
  return version === 0 ? bech32.encode(hrp, words) : bech32m.encode(hrp, words);
}

/** A deriver for one account: parses once, derives the receive branch once. */
export function createDeriver(key: AccountKey): Deriver {
  return makeDeriver(key);
}

/** What deriveWith needs of a deriver beyond the public interface: the point, then the address. */
interface InternalDeriver extends Deriver {
  child(index: number): ChildPoint;
  finish(p: Affine): DerivedAddress;
}

function makeDeriver(key: AccountKey): InternalDeriver {
  const parsed = parseInternal(key.network, key.text, 'xpub');
  const params = utxoParams(key.network)!;
  let branchNode = parsed.node;
  for (const step of parsed.branch) branchNode = branchNode.deriveChild(step);
  const child = branchChildren(branchNode);
  const hrp = params.hrp;
  const finish =
    parsed.key.scriptType === 'p2wpkh'
      ? (p: Affine): DerivedAddress => {
          const h = hash160(compress(p));
          return { address: witnessAddress(hrp, 0, h), scriptPubKeyHex: `0014${hex.encode(h)}` };
        }
      : (p: Affine): DerivedAddress => {
          const q = taprootOutputKey(p);
          return { address: witnessAddress(hrp, 1, q), scriptPubKeyHex: `5120${hex.encode(q)}` };
        };
  const deriver: InternalDeriver = {
    key: parsed.key,
    deriveAddress: (index) => deriveWith([{ deriver, index }])[0]!,
    firstAddress: () => deriver.deriveAddress(0).address,
    child: (index) => {
      assertIndex(index);
      return child(index);
    },
    finish,
  };
  return deriver;
}

/** Derives every job, all the Jacobian results sharing one inversion. */
function deriveWith(jobs: readonly { deriver: InternalDeriver; index: number }[]): DerivedAddress[] {
  const points = jobs.map(({ deriver, index }) => deriver.child(index));
  const pending = points.flatMap((p) => ('jacobian' in p && p.jacobian.Z !== 1n ? [p.jacobian.Z] : []));
  const inverses = invertAll(pending);
  let next = 0;
  return points.map((p, i) => {
    const affine =
      'affine' in p ? p.affine : toAffine(p.jacobian, p.jacobian.Z === 1n ? 1n : inverses[next++]!);
    return jobs[i]!.deriver.finish(affine);
  });
}

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

// ---------------------------------------------------------------------------------------------
// Address <-> scriptPubKey

const OTHER_BASE58_VERSIONS = new Set([0x00, 0x05, 0x30, 0x32, 0x6f, 0xc4, 0x3a]);
const BECH32_SHAPE = /^[a-z0-9]{1,83}1[02-9ac-hj-np-z]{6,}$/;

function requireParams(network: NetworkId): UtxoParams {
  const params = utxoParams(network);
  if (!params) throw new InvalidAddressError('network', `${network} is not a UTXO network`);
  return params;
}

function witnessScript(version: number, program: Uint8Array): string {
  const op = version === 0 ? '00' : (0x50 + version).toString(16);
  return op + program.length.toString(16).padStart(2, '0') + hex.encode(program);
}

function decodeSegwit(address: string, params: UtxoParams): string {
  const lower = address.toLowerCase();
  let decoded = bech32.decodeUnsafe(lower);
  let version = decoded ? decoded.words[0] : undefined;
  if (!decoded || version !== 0) {
    decoded = bech32m.decodeUnsafe(lower);
    version = decoded ? decoded.words[0] : undefined;
    if (!decoded || version === undefined || version === 0 || version > 16) {
      throw new InvalidAddressError(
        'malformed',
        'not a valid address (bech32 checksum or encoding is wrong)',
      );
    }
  }
  if (decoded.prefix !== params.hrp) {
    throw new InvalidAddressError(
      'network',
      `a ${decoded.prefix}1… address is not for ${params.network} (expected ${params.hrp}1…)`,
    );
  }
  const program = bech32.fromWordsUnsafe(decoded.words.slice(1));
  const len = program ? program.length : 0;
  if (!program || len < 2 || len > 40 || (version === 0 && len !== 20 && len !== 32)) {
    throw new InvalidAddressError('malformed', 'not a valid address (wrong witness program length)');
  }
  return witnessScript(version!, program);
}

function decodeBase58(address: string, params: UtxoParams): string {
  let bytes: Uint8Array;
  try {
    bytes = base58check.decode(address);
  } catch {
    throw new InvalidAddressError('malformed', 'not a valid address (checksum or characters wrong)');
  }
  if (bytes.length !== 21) throw new InvalidAddressError('malformed', 'not a valid address (wrong length)');
  const version = bytes[0]!;
  const h = hex.encode(bytes.subarray(1));
  if (version === params.pubKeyHash) return `76a914${h}88ac`;
  if (params.scriptHash.includes(version)) return `a914${h}87`;
  if (OTHER_BASE58_VERSIONS.has(version)) {
    throw new InvalidAddressError('network', `this address is not for ${params.network}`);
  }
  throw new InvalidAddressError('malformed', 'not a valid address (unknown version)');
}

/**
 * The scriptPubKey (hex) that an address of `network` pays to: bech32/bech32m SegWit addresses and
 * base58 P2PKH/P2SH. @throws InvalidAddressError for malformed addresses or another network's.
 */
export function addressToScriptHex(network: NetworkId, address: string): string {
  const params = requireParams(network);
  const text = typeof address === 'string' ? address.trim() : '';
  if (text === '') throw new InvalidAddressError('malformed', 'the address is empty');
  const lower = text.toLowerCase();
  if (BECH32_SHAPE.test(lower) && (text === lower || text === text.toUpperCase())) {
    return decodeSegwit(text, params);
  }
  return decodeBase58(text, params);
}

/** The address of a standard scriptPubKey on `network`; undefined for scripts that have none. */
export function scriptHexToAddress(network: NetworkId, scriptHex: string): string | undefined {
  const params = requireParams(network);
  let s: Uint8Array;
  try {
    s = hex.decode(scriptHex.toLowerCase());
  } catch {
    return undefined;
  }
  const n = s.length;
  if (n === 25 && s[0] === 0x76 && s[1] === 0xa9 && s[2] === 0x14 && s[23] === 0x88 && s[24] === 0xac) {
    return base58check.encode(Uint8Array.of(params.pubKeyHash, ...s.subarray(3, 23)));
  }
  if (n === 23 && s[0] === 0xa9 && s[1] === 0x14 && s[22] === 0x87) {
    return base58check.encode(Uint8Array.of(params.scriptHash[0]!, ...s.subarray(2, 22)));
  }
  const op = s[0]!;
  const version = op === 0 ? 0 : op >= 0x51 && op <= 0x60 ? op - 0x50 : -1;
  if (version < 0 || n < 4 || s[1] !== n - 2) return undefined;
  const program = s.subarray(2);
  if (program.length > 40 || (version === 0 && program.length !== 20 && program.length !== 32)) {
    return undefined;
  }
  return witnessAddress(params.hrp, version, program);
}
