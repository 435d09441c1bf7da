// Constant-time comparison for secrets (API keys, CSRF tokens, webhook signatures): the time taken
// must not reveal how many leading bytes of a guess were right. No node:crypto, so it runs on workerd.

const utf8 = new TextEncoder();

/**
 * True when `a` and `b` hold the same bytes. Walks the longer length whatever the content, so a
 * length mismatch is false without an early exit that would leak where the difference is.
 */
export function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  const length = Math.max(a.length, b.length);
  let diff = a.length ^ b.length;
  for (let i = 0; i < length; i++) {
    diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  }
  return diff === 0;
}

/** {@link timingSafeEqual} over the UTF-8 encodings of two strings. */
export function timingSafeEqualString(a: string, b: string): boolean {
  return timingSafeEqual(utf8.encode(a), utf8.encode(b));
}
