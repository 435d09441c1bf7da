// Passwords of dashboard users and regulators: scrypt with a per-user random salt. The parameters
// travel with the hash (`scrypt$<log2 N>$<r>$<p>$<salt>$<hash>`), so raising the cost later never
// locks anyone out. Every hash a request asks for goes through one PasswordHasher, which bounds how
// many run at once (gate.ts) and hashes an unknown account's password at the configured cost, the
// same cost a real account's check pays, so the time taken does not tell whether the email exists.
import { utf8ToBytes } from '@noble/hashes/utils.js';
import { base64 } from '@scure/base';
import { timingSafeEqual } from '../lib/ct';
import { ValidationError } from '../lib/errors';
import { createHashGate, type GateStats, type HashGate } from './gate';
import { type Kdf, platformScrypt, type ScryptParams } from './scrypt';

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

const params = (logN: number, r = R, p = P): ScryptParams => ({ N: 2 ** logN, r, p, dkLen: KEY_BYTES });
const passwordBytes = (password: string) => utf8ToBytes(password.normalize('NFKC'));

async function hashWith(kdf: Kdf, password: string, logN: number): Promise<string> {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const key = await kdf(passwordBytes(password), salt, params(logN));
  return `scrypt$${logN}$${R}$${P}$${base64.encode(salt)}$${base64.encode(key)}`;
}

const STORED_RE = /^scrypt\$([0-9]{1,2})\$([0-9]{1,2})\$([0-9]{1,2})\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/;

async function verifyWith(kdf: Kdf, password: string, stored: string): Promise<boolean> {
  const m = STORED_RE.exec(stored);
  if (!m) return false;
  const [logN, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (logN < 1 || logN > 20 || r < 1 || p < 1) return false;
  const expected = base64.decode(m[5]!);
  const key = await kdf(passwordBytes(password), base64.decode(m[4]!), params(logN, r, p));
  return timingSafeEqual(key, expected);
}

/** A new stored hash (the CLI and seeding: outside any request, so not through the gate). */
export const hashPassword = (password: string, logN = DEFAULT_SCRYPT_LOG_N): Promise<string> =>
  hashWith(platformScrypt, password, logN);

/** True when `password` matches `stored`; a malformed stored value never matches. */
export const verifyPassword = (password: string, stored: string): Promise<boolean> =>
  verifyWith(platformScrypt, password, stored);

export interface PasswordHasher {
  /** Checks a password against a stored hash, in the gate (HashingBusyError when it is full). */
  verify(password: string, stored: string): Promise<boolean>;
  /** Pays what checking a real account at cost `logN` pays, for an email that has none. Always false. */
  verifyUnknown(password: string, logN: number): Promise<false>;
  /** A new stored hash at cost `logN`, in the gate (an account's upgrade to the configured cost). */
  hash(password: string, logN: number): Promise<string>;
  stats(): GateStats;
}

export interface PasswordHasherOptions {
  /** Hashes at once (SIGN_IN_HASH_CONCURRENCY). */
  readonly concurrency: number;
  /** Sign-ins waiting for a slot before the next is refused with 503 (SIGN_IN_HASH_QUEUE). */
  readonly queue: number;
  /** The scrypt used; tests wrap the real one to observe its parameters. */
  readonly kdf?: Kdf;
}

export function createPasswordHasher(opts: PasswordHasherOptions): PasswordHasher {
  const gate: HashGate = createHashGate(opts);
  const kdf = opts.kdf ?? platformScrypt;
  return {
    verify: (password, stored) => gate.run(() => verifyWith(kdf, password, stored)),
    async verifyUnknown(password, logN) {
      // A fresh salt and a throwaway key: the same work as a real check, nothing to match.
      const salt = crypto.getRandomValues(new Uint8Array(16));
      await gate.run(() => kdf(passwordBytes(password), salt, params(logN)));
      return false;
    },
    hash: (password, logN) => gate.run(() => hashWith(kdf, password, logN)),
    stats: () => gate.stats(),
  };
}

/** The cost (log2 N) a stored hash was made with; undefined when it is not one of ours. */
export function storedLogN(stored: string): number | undefined {
  const m = STORED_RE.exec(stored);
  return m ? Number(m[1]) : undefined;
}
