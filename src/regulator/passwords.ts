// Regulator passwords: scrypt (@noble/hashes) with a per-user random salt. The parameters travel with
// the hash (`scrypt$<log2 N>$<r>$<p>$<salt>$<hash>`), so raising the cost later never locks anyone out.
import { scryptAsync } from '@noble/hashes/scrypt.js';
import { utf8ToBytes } from '@noble/hashes/utils.js';
import { base64 } from '@scure/base';
import { timingSafeEqual } from '../lib/ct';
import { ValidationError } from '../lib/errors';

export const DEFAULT_SCRYPT_LOG_N = 15;
const R = 8;
const P = 1;
const KEY_BYTES = 32;
export const MIN_PASSWORD_CHARS = 12;
export const MAX_PASSWORD_CHARS = 200;

export function checkPasswordPolicy(password: string): void {
  const n = [...password].length;
  if (n < MIN_PASSWORD_CHARS || n > MAX_PASSWORD_CHARS) {
    throw new ValidationError('the password does not meet the policy', [
      { path: 'password', message: `use ${MIN_PASSWORD_CHARS} to ${MAX_PASSWORD_CHARS} characters` },
    ]);
  }
}

async function derive(password: string, salt: Uint8Array, logN: number, r: number, p: number) {
  // maxmem: N=2^20 at r=8 needs 1 GiB; refuse anything beyond what we ever write.
  return scryptAsync(utf8ToBytes(password.normalize('NFKC')), salt, {
    N: 2 ** logN,
    r,
    p,
    dkLen: KEY_BYTES,
    maxmem: 2 ** 31,
  });
}

export async function hashPassword(password: string, logN = DEFAULT_SCRYPT_LOG_N): Promise<string> {
  const salt = new Uint8Array(16);
  crypto.getRandomValues(salt);
  const key = await derive(password, salt, logN, R, P);
  return `scrypt$${logN}$${R}$${P}$${base64.encode(salt)}$${base64.encode(key)}`;
}

const STORED_RE = /^scrypt\$([0-9]{1,2})\$([0-9]{1,2})\$([0-9]{1,2})\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/;

/** True when `password` matches `stored`; a malformed stored value never matches. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const m = STORED_RE.exec(stored);
  if (!m) return false;
  const [logN, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (logN < 1 || logN > 20 || r < 1 || p < 1) return false;
  const expected = base64.decode(m[5]!);
  const key = await derive(password, base64.decode(m[4]!), logN, r, p);
  return timingSafeEqual(key, expected);
}
