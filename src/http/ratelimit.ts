// Limits on failed authentications, per presented key and per client address. Counters live in
// PostgreSQL (auth_failures), so several gateway processes share them. A request is checked before its
// credentials are: past the limit even the right key gets 429 from that address or for that key, so
// guessing stops; a good key from another address touches neither bucket and is never refused.
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import type { Context } from 'hono';
import type { Queryable } from '../db/client';
import { oneRow } from '../db/errors';
import { AppError } from '../lib/errors';

export interface AuthFailurePolicy {
  readonly perKey: number;
  readonly perAddress: number;
  readonly windowSeconds: number;
}

export class RateLimitedError extends AppError {
  override name: string = 'RateLimitedError';
  readonly retryAfterSeconds: number;
  constructor(retryAfterSeconds: number) {
    super('too_many_auth_failures', `too many failed authentications; try again in ${retryAfterSeconds} s`, {
      status: 429,
      headers: { 'Retry-After': String(retryAfterSeconds) },
    });
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

export function policyFromConfig(config: {
  AUTH_FAILURES_PER_KEY: number;
  AUTH_FAILURES_PER_ADDRESS: number;
  AUTH_FAILURE_WINDOW_SECONDS: number;
}): AuthFailurePolicy {
  return {
    perKey: config.AUTH_FAILURES_PER_KEY,
    perAddress: config.AUTH_FAILURES_PER_ADDRESS,
    windowSeconds: config.AUTH_FAILURE_WINDOW_SECONDS,
  };
}

/**
 * The client's address: Cloudflare's header on Workers (set by the edge, not the client), the socket
 * on Node, or with trustProxy the last X-Forwarded-For entry (the one the trusted proxy appended).
 */
export function clientAddress(c: Context, trustProxy = false): string {
  if (trustProxy) {
    const xff = c.req.header('x-forwarded-for');
    const last = xff?.split(',').pop()?.trim();
    if (last) return last.slice(0, 64);
  }
  const env = c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined;
  const socket = env?.incoming?.socket?.remoteAddress;
  if (socket) return socket.slice(0, 64);
  // Only reached on Workers, where Cloudflare sets this header and overwrites any the client sent.
  const cf = c.req.header('cf-connecting-ip');
  return cf ? cf.slice(0, 64) : 'unknown';
}

/** A presented credential's bucket id: its SHA-256 (of at most 512 characters), hex. */
export const presentedKeyHash = (key: string): string => bytesToHex(sha256(utf8ToBytes(key.slice(0, 512))));

/**
 * Which addresses share a per-address counter. An IPv4 address is one client; an IPv6 host is
 * handed a whole /64 (2^64 addresses), so counting each address alone would give one client
 * unlimited guesses: IPv6 addresses count per /64 prefix. IPv4-mapped IPv6 (::ffff:a.b.c.d, as Node
 * reports IPv4 on a dual-stack socket) is the IPv4 address. Anything that does not parse is kept
 * as given.
 */
export function addressBucket(address: string): string {
  if (!address.includes(':')) return address;
  const groups = ipv6Groups(address.replace(/%.*$/, ''));
  if (!groups) return address;
  if (groups.slice(0, 5).every((g) => g === '0') && groups[5] === 'ffff') {
    const n = (Number.parseInt(groups[6]!, 16) << 16) | Number.parseInt(groups[7]!, 16);
    return [24, 16, 8, 0].map((shift) => (n >>> shift) & 255).join('.');
  }
  return `${groups.slice(0, 4).join(':')}::/64`;
}

/** The eight 16-bit groups of an IPv6 address (lower-case hex, no leading zeros), or undefined. */
function ipv6Groups(address: string): string[] | undefined {
  let text = address.toLowerCase();
  // A trailing dotted IPv4 part (::a.b.c.d) is two groups.
  const v4 = /^(.*:)(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (v4) {
    const b = v4.slice(2).map(Number);
    if (b.some((x) => x > 255)) return undefined;
    text = `${v4[1]}${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const part = (h: string) => (h === '' ? [] : h.split(':'));
  const head = part(halves[0]!);
  const tail = halves.length === 2 ? part(halves[1]!) : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const groups = [...head, ...Array<string>(missing).fill('0'), ...tail];
  if (!groups.every((g) => /^[0-9a-f]{1,4}$/.test(g))) return undefined;
  return groups.map((g) => Number.parseInt(g, 16).toString(16));
}

/**
 * The buckets of one attempt: the address (its /64 for IPv6, addressBucket) when known, the key (only as its hash, presentedKeyHash)
 * when one was sent. An unknown address (in-process requests without a socket) is no bucket: it
 * would lump every such caller together.
 */
export function authBuckets(address: string, presentedKeyHashHex?: string): string[] {
  const out = address === 'unknown' ? [] : [`addr:${addressBucket(address)}`];
  if (presentedKeyHashHex) out.push(`key:${presentedKeyHashHex}`);
  return out;
}

const limitOf = (bucket: string, p: AuthFailurePolicy) =>
  bucket.startsWith('key:') ? p.perKey : p.perAddress;

/** A bucket's failures in its current window and the seconds until that window ends. */
export interface FailureCount {
  readonly bucket: string;
  readonly failures: number;
  readonly left: number;
}

/**
 * The counters of `buckets` in their current windows, as a json array: a subquery, so a caller can
 * read them in the same statement as the credentials they guard (src/http/credentials.ts).
 */
export function failureCountsJson(q: Queryable, buckets: readonly string[], policy: AuthFailurePolicy) {
  return q`coalesce((select json_agg(json_build_object('bucket', bucket, 'failures', failures, 'left',
      ceil(extract(epoch from (window_start + ${policy.windowSeconds} * interval '1 second' - now())))::int))
    from auth_failures
    where bucket = any(array(select jsonb_array_elements_text(${q.json(buckets as string[])}::jsonb)))
      and window_start > now() - ${policy.windowSeconds} * interval '1 second'), '[]'::json)`;
}

/** Throws RateLimitedError when any of `counts` has reached its bucket's limit. */
export function refuseIfLimited(counts: readonly FailureCount[], policy: AuthFailurePolicy): void {
  let wait = 0;
  for (const r of counts) if (r.failures >= limitOf(r.bucket, policy)) wait = Math.max(wait, r.left);
  if (wait > 0) throw new RateLimitedError(wait);
}

/** Throws RateLimitedError when any bucket has reached its limit in the current window. */
export async function checkAuthFailures(
  q: Queryable,
  buckets: readonly string[],
  policy: AuthFailurePolicy,
): Promise<void> {
  if (buckets.length === 0) return;
  const row = oneRow(
    await q<{ counts: FailureCount[] }[]>`select ${failureCountsJson(q, buckets, policy)} as counts`,
  );
  refuseIfLimited(row.counts, policy);
}

/** Counts one failure in every bucket; atomic per row, so concurrent processes never lose a count. */
export async function recordAuthFailure(
  q: Queryable,
  buckets: readonly string[],
  policy: AuthFailurePolicy,
): Promise<void> {
  if (buckets.length === 0) return;
  const w = policy.windowSeconds;
  for (const bucket of buckets) {
    await q`insert into auth_failures (bucket, window_start, failures) values (${bucket}, now(), 1)
      on conflict (bucket) do update set
        failures = case when auth_failures.window_start <= now() - ${w} * interval '1 second'
          then 1 else auth_failures.failures + 1 end,
        window_start = case when auth_failures.window_start <= now() - ${w} * interval '1 second'
          then now() else auth_failures.window_start end`;
  }
  // Housekeeping: windows long over are only clutter.
  await q`delete from auth_failures where window_start < now() - ${2 * w} * interval '1 second'`;
}

/**
 * Runs `attempt` (an authentication) under the limits: refused with 429 when a bucket is full, and a
 * failure (an error for which `isFailure` holds) is counted before it is rethrown.
 */
export async function limitAuthFailures<T>(
  q: Queryable,
  buckets: readonly string[],
  policy: AuthFailurePolicy,
  attempt: () => Promise<T>,
  isFailure: (err: unknown) => boolean,
): Promise<T> {
  if (buckets.length === 0) return attempt();
  await checkAuthFailures(q, buckets, policy);
  try {
    return await attempt();
  } catch (err) {
    if (isFailure(err)) await recordAuthFailure(q, buckets, policy);
    throw err;
  }
}

/**
 * Counts one attempt in every bucket before the credentials are checked: one statement per bucket
 * increments and returns the count, so parallel guesses each get their own number and no more than
 * the limit ever reach the check. Returns the counts including this attempt.
 */
export async function countAuthAttempt(
  q: Queryable,
  buckets: readonly string[],
  policy: AuthFailurePolicy,
): Promise<FailureCount[]> {
  const w = policy.windowSeconds;
  const out: FailureCount[] = [];
  for (const bucket of buckets) {
    const [row] = await q<{ failures: number; left: number }[]>`
      insert into auth_failures (bucket, window_start, failures) values (${bucket}, now(), 1)
      on conflict (bucket) do update set
        failures = case when auth_failures.window_start <= now() - ${w} * interval '1 second'
          then 1 else auth_failures.failures + 1 end,
        window_start = case when auth_failures.window_start <= now() - ${w} * interval '1 second'
          then now() else auth_failures.window_start end
      returning failures,
        ceil(extract(epoch from (window_start + ${w} * interval '1 second' - now())))::int as left`;
    out.push({ bucket, failures: row!.failures, left: Math.max(1, row!.left) });
  }
  // Housekeeping: windows long over are only clutter.
  if (buckets.length)
    await q`delete from auth_failures where window_start < now() - ${2 * w} * interval '1 second'`;
  return out;
}

/** Gives back an attempt counted by countAuthAttempt that turned out right. */
export async function forgiveAuthAttempt(q: Queryable, buckets: readonly string[]): Promise<void> {
  if (buckets.length === 0) return;
  await q`update auth_failures set failures = greatest(failures - 1, 0)
    where bucket = any(array(select jsonb_array_elements_text(${q.json(buckets as string[])}::jsonb)))`;
}

export interface SignInAttempt {
  /** Set when the address is over its limit: the form's 429 message (Retry-After is already set). */
  readonly refused?: string;
  /** The password was right: the attempt no longer counts against the address. */
  succeeded(): Promise<void>;
}

/**
 * The per-address limit of a password sign-in form (dashboard and regulator console): the
 * per-account lockout alone lets one client try many accounts. The attempt is counted before the
 * password is checked (countAuthAttempt) and given back when it was right.
 */
export async function takeSignInAttempt(
  c: Context,
  q: Queryable,
  config: Parameters<typeof policyFromConfig>[0] & { TRUST_PROXY: boolean },
): Promise<SignInAttempt> {
  const buckets = authBuckets(clientAddress(c, config.TRUST_PROXY));
  const policy = policyFromConfig(config);
  const succeeded = () => forgiveAuthAttempt(q, buckets);
  const counts = await countAuthAttempt(q, buckets, policy);
  let wait = 0;
  for (const r of counts) if (r.failures > limitOf(r.bucket, policy)) wait = Math.max(wait, r.left);
  if (wait > 0) {
    c.header('Retry-After', String(wait));
    return { refused: `Too many failed sign-ins from this address. Try again in ${wait} s.`, succeeded };
  }
  return { succeeded };
}
