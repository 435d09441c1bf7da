// scrypt for passwords: node:crypto's when the runtime has it (on Node it runs on the libuv thread
// pool, so the event loop keeps serving while a password is hashed), @noble/hashes otherwise (workerd
// without a native scrypt). Both give the same bytes for the same inputs.
import { scryptAsync } from '@noble/hashes/scrypt.js';

export interface ScryptParams {
  readonly N: number;
  readonly r: number;
  readonly p: number;
  readonly dkLen: number;
}

export type Kdf = (password: Uint8Array, salt: Uint8Array, params: ScryptParams) => Promise<Uint8Array>;

type NodeScrypt = (
  password: Uint8Array,
  salt: Uint8Array,
  keylen: number,
  options: { N: number; r: number; p: number; maxmem: number },
  callback: (err: Error | null, key: Uint8Array) => void,
) => void;

// A failed import, or a native scrypt that throws where the JS one works, falls back to the JS one.
let native: Promise<NodeScrypt | undefined> | undefined;
const loadNative = (): Promise<NodeScrypt | undefined> => {
  native ??= import('node:crypto').then(
    (m) => (typeof m.scrypt === 'function' ? (m.scrypt as unknown as NodeScrypt) : undefined),
    () => undefined,
  );
  return native;
};

// Room for the largest cost ever accepted (N = 2^20 at r = 8 needs 1 GiB) and OpenSSL's overhead.
const maxmemFor = (params: ScryptParams) => 256 * params.N * params.r + 2 ** 20;

function nativeScrypt(fn: NodeScrypt, password: Uint8Array, salt: Uint8Array, params: ScryptParams) {
  return new Promise<Uint8Array>((resolve, reject) => {
    fn(
      password,
      salt,
      params.dkLen,
      { N: params.N, r: params.r, p: params.p, maxmem: maxmemFor(params) },
      (err, key) => (err ? reject(err) : resolve(new Uint8Array(key))),
    );
  });
}

/** The platform's scrypt: native when it works, else @noble/hashes. */
export const platformScrypt: Kdf = async (password, salt, params) => {
  const fn = await loadNative();
  if (fn) {
    try {
      return await nativeScrypt(fn, password, salt, params);
    } catch {
      // A runtime whose node:crypto lacks scrypt (or refuses these parameters): the JS one decides.
      const key = await scryptAsync(password, salt, { ...params, maxmem: 2 ** 31 });
      native = Promise.resolve(undefined);
      return key;
    }
  }
  return scryptAsync(password, salt, { ...params, maxmem: 2 ** 31 });
};
