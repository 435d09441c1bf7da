// Addresses and scriptPubKeys: the witness address of a derived key, and both directions between an
// address and its script for the watchers (P2WPKH, P2TR and, for reading, the base58 kinds).

import { ripemd160 } from '@noble/hashes/legacy.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bech32, bech32m, hex } from '@scure/base';
import type { NetworkId } from '../../networks';
import { type UtxoParams, utxoParams } from '../params';
import { base58check } from './descriptor';
import { InvalidAddressError } from './types';

export const hash160 = (data: Uint8Array): Uint8Array => ripemd160(sha256(data));

export function witnessAddress(hrp: string, version: number, program: Uint8Array): string {
  const words = bech32.toWords(program);
  words.unshift(version);
  return version === 0 ? bech32.encode(hrp, words) : bech32m.encode(hrp, words);
}

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
