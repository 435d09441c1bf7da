// Public ids: a type prefix + 26 Crockford base32 characters: 48 bits of milliseconds (so ids sort
// by creation and serve as pagination cursors) + 80 random bits (so checkout links are unguessable).
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

export type IdPrefix =
  | 'inv'
  | 'pay'
  | 'mer'
  | 'key'
  | 'evt'
  | 'req'
  | 'whk'
  | 'dlv'
  | 'case'
  | 'rep'
  | 'reg'
  | 'usr';

// Random bytes are drawn from the CSPRNG in blocks: one call per id cost more than the id itself.
// Filled lazily, never at module load (workerd forbids random values in the global scope).
const POOL_IDS = 256;
let pool = new Uint8Array(0);
let poolAt = 0;

function tenRandomBytes(): Uint8Array {
  if (poolAt + 10 > pool.length) {
    pool = crypto.getRandomValues(new Uint8Array(10 * POOL_IDS));
    poolAt = 0;
  }
  poolAt += 10;
  // A fresh block per refill, so a handed-out view is never overwritten.
  return pool.subarray(poolAt - 10, poolAt);
}

export function newId(prefix: IdPrefix, nowMs = Date.now()): string {
  const rand = tenRandomBytes();
  let out = '';
  let t = nowMs;
  const time: string[] = [];
  for (let i = 0; i < 10; i++) {
    time.push(ALPHABET[t % 32]!);
    t = Math.floor(t / 32);
  }
  out = time.reverse().join('');
  // 80 random bits → 16 characters of 5 bits.
  let acc = 0;
  let bits = 0;
  for (const byte of rand) {
    acc = (acc << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += ALPHABET[(acc >> bits) & 31];
    }
  }
  return `${prefix}_${out.toLowerCase()}`;
}

const ID_RE = /^[a-z]{3,4}_[0-9a-hjkmnp-tv-z]{26}$/;
export function isId(prefix: IdPrefix, s: string): boolean {
  return s.startsWith(`${prefix}_`) && ID_RE.test(s);
}

/** Random bytes as lower-case hex (tokens, nonces). */
export function randomHex(bytes: number): string {
  const b = new Uint8Array(bytes);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}
