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

export function newId(prefix: IdPrefix, nowMs = Date.now()): string {
  const rand = new Uint8Array(10);
  crypto.getRandomValues(rand);
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
