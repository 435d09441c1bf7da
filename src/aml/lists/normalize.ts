// One canonical form per address, applied alike to list entries and to screened payers, so a lookup is
// an exact string match. Runs in workerd too: no Node built-ins.
//
// - EVM hex (0x + 40 hex): lowercased, so an EIP-55 checksummed address equals its lowercase form.
// - bech32/bech32m (BIP173/BIP350): case-insensitive by definition (QR codes use upper case):
//   lowercased. Recognized by shape: hrp + '1' + data in the bech32 charset, not mixed-case; a known
//   Bitcoin/Litecoin hrp is enough, any other hrp must also carry a valid checksum.
// - base58 (Bitcoin/Litecoin legacy, Tron T…): case carries information: kept exactly.
// - anything else: kept as given, only trimmed.

import type { AddressKind } from './types';

export interface NormalizedAddress {
  normalized: string;
  kind: AddressKind;
}

const EVM_RE = /^0[xX][0-9a-fA-F]{40}$/;
const BASE58_RE = /^[1-9A-HJ-NP-Za-km-z]{25,120}$/;
const HRP_RE = /^[a-z0-9]{1,83}$/;
const BECH32_CHARSET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
const KNOWN_HRPS = new Set(['bc', 'tb', 'bcrt', 'ltc', 'tltc', 'rltc']);
const BECH32_CONST = 1;
const BECH32M_CONST = 0x2bc830a3;
const GENERATORS = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];

const CHARSET_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < BECH32_CHARSET.length; i++) CHARSET_VALUE[BECH32_CHARSET.charCodeAt(i)] = i;

function polymodStep(chk: number, value: number): number {
  const top = chk >>> 25;
  let next = ((chk & 0x1ffffff) << 5) ^ value;
  for (let i = 0; i < 5; i++) if ((top >>> i) & 1) next ^= GENERATORS[i]!;
  return next >>> 0;
}

function bech32ChecksumValid(hrp: string, data: string): boolean {
  let chk = 1;
  for (let i = 0; i < hrp.length; i++) chk = polymodStep(chk, hrp.charCodeAt(i) >> 5);
  chk = polymodStep(chk, 0);
  for (let i = 0; i < hrp.length; i++) chk = polymodStep(chk, hrp.charCodeAt(i) & 31);
  for (let i = 0; i < data.length; i++) chk = polymodStep(chk, CHARSET_VALUE[data.charCodeAt(i)]!);
  return chk === BECH32_CONST || chk === BECH32M_CONST;
}

/** `lower` is the lowercased candidate; the caller has ruled out mixed case. */
function isBech32(lower: string): boolean {
  if (lower.length < 8 || lower.length > 90) return false;
  const sep = lower.lastIndexOf('1');
  if (sep < 1 || lower.length - sep - 1 < 6) return false;
  const hrp = lower.slice(0, sep);
  if (!HRP_RE.test(hrp)) return false;
  for (let i = sep + 1; i < lower.length; i++) {
    const code = lower.charCodeAt(i);
    if (code >= 128 || CHARSET_VALUE[code] === -1) return false;
  }
  return KNOWN_HRPS.has(hrp) || bech32ChecksumValid(hrp, lower.slice(sep + 1));
}

export function normalizeAddress(address: string): NormalizedAddress {
  const trimmed = address.trim();
  if (EVM_RE.test(trimmed)) return { normalized: trimmed.toLowerCase(), kind: 'evm' };
  const lower = trimmed.toLowerCase();
  if ((trimmed === lower || trimmed === trimmed.toUpperCase()) && isBech32(lower)) {
    return { normalized: lower, kind: 'bech32' };
  }
  if (BASE58_RE.test(trimmed)) return { normalized: trimmed, kind: 'base58' };
  return { normalized: trimmed, kind: 'other' };
}

// OFAC names a few assets by its own codes; every other code passes through upper-cased, so entries for
// assets we don't serve (TRX, XMR…) are kept and still match by address (see lookup.ts).
const OFAC_ASSET_CODES: Readonly<Record<string, string>> = { XBT: 'BTC' };

export function mapOfacAsset(code: string): string {
  const upper = code.trim().toUpperCase();
  return OFAC_ASSET_CODES[upper] ?? upper;
}
