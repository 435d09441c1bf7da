// Account keys as merchants give them: extended public keys (xpub/zpub/tpub/vpub/Ltub) and output
// descriptors (wpkh/tr, BIP380 checksum, key origin, multipath). Anything private is refused.

import { sha256 } from '@noble/hashes/sha2.js';
import { createBase58check } from '@scure/base';
import { HDKey } from '@scure/bip32';
import type { NetworkId } from '../../networks';
import {
  type ExtendedKeyVersion,
  KNOWN_PUBLIC_VERSIONS,
  PRIVATE_VERSIONS,
  type UtxoParams,
  utxoParams,
} from '../params';
import { type AccountKey, InvalidAccountKeyError, type ScriptType } from './types';

export const HARDENED = 0x80000000;
export const base58check = createBase58check(sha256);

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

export interface ParsedKey {
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

export function parseInternal(network: NetworkId, raw: string, field: string): ParsedKey {
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
