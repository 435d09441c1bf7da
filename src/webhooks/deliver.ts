// Delivery: lease due deliveries, send them in parallel, log every attempt, schedule the next one.
//
// A lease is taken in a short transaction (FOR UPDATE SKIP LOCKED): the attempt number is claimed and
// next_attempt_at is pushed past the time the attempt can take, so no other process sends the same
// attempt; if this process dies mid-send, the lease simply runs out and another one retries. No
// transaction is held open across an HTTP call.
//
// Which deliveries a lease takes is fair (claim.ts): shares per merchant and per endpoint, round-robin,
// and a circuit breaker per endpoint (breaker.ts), so a merchant whose receivers never answer cannot
// hold every slot.
import type { Sql } from '../db/client';
import { AppError } from '../lib/errors';
import { fetchText, TimeoutError } from '../lib/http';
import type { Logger } from '../lib/log';
import { type BreakerPolicy, DEFAULT_BREAKER, recordHealth } from './breaker';
import { claimFair, type FairShare, fairShareFor } from './claim';
import { pinnedFetch } from './pinned';
import { disableEndpoint } from './repository';
import { retryAfterMs, withJitter } from './schedule';
import type { SecretBox } from './secrets';
import { signWebhook } from './sign';
import { assertDeliverableUrl, type DeliverableUrlOptions, onWorkerd, UnsafeWebhookUrlError } from './ssrf';

/** The first kilobyte of a receiver's answer is kept in the attempt log. */
export const RESPONSE_EXCERPT_BYTES = 1024;
/** Sent beside the Standard Webhooks headers: which try this is (1, 2, …). Not signed; informative. */
export const ATTEMPT_HEADER = 'alatau-webhook-attempt';

export interface DeliveryDeps {
  readonly sql: Sql;
  readonly secretBox: SecretBox;
  readonly logger: Logger;
  /** WEBHOOK_ALLOW_PRIVATE: loopback and private receivers allowed (sandbox). */
  readonly allowPrivate: boolean;
  /** Host name resolver for the SSRF check and the connection; the system resolver when absent. */
  readonly resolve?: DeliverableUrlOptions['resolve'];
  readonly timeoutMs: number;
  /** Delay before each attempt (ms); its length is the number of attempts. */
  readonly scheduleMs: readonly number[];
  readonly jitterPercent: number;
  /** Deliveries sent at once (and leased per round). */
  readonly concurrency: number;
  readonly fetchImpl?: typeof fetch;
  readonly random?: () => number;
  /** Circuit breaker per endpoint (breaker.ts); DEFAULT_BREAKER when absent. */
  readonly breaker?: BreakerPolicy;
  /** Slots per merchant and per endpoint; half the concurrency each when absent. */
  readonly share?: FairShare;
}

export interface DeliverResult {
  readonly leased: number;
  readonly succeeded: number;
  readonly retrying: number;
  readonly failed: number;
  readonly disabled: number;
}

export interface Leased {
  readonly id: string;
  readonly endpointId: string;
  readonly eventId: string;
  readonly payload: string;
  readonly attempt: number;
  readonly cycleAttempt: number;
}

export interface EndpointRow {
  readonly id: string;
  readonly url: string;
  readonly secret_ciphertext: string | null;
  readonly previous_secret_ciphertext: string | null;
  readonly previous_expires_at: Date | null;
  readonly disabled_at: Date | null;
  readonly deleted_at: Date | null;
}

interface Outcome {
  readonly startedAt: Date;
  readonly durationMs: number;
  readonly httpStatus: number | null;
  readonly error: string | null;
  readonly excerpt: string | null;
  readonly retryAfter: string | null;
  /** The request went out and no HTTP answer came back (timeout, connection failed): breaker.ts. */
  readonly silent?: boolean;
}

export type Verdict = 'succeeded' | 'retrying' | 'failed' | 'disabled';

/** How long a lease lasts: the sends of one round, with room to record their results. */
export function leaseMs(deps: Pick<DeliveryDeps, 'timeoutMs'>): number {
  return deps.timeoutMs + 60_000;
}

/**
 * One round: leases up to `limit` (default: the concurrency) due deliveries and sends them at once.
 * Returns what became of them. Safe to run on several processes concurrently.
 */
export async function deliverDue(
  deps: DeliveryDeps,
  opts: { now?: Date; limit?: number } = {},
): Promise<DeliverResult> {
  const claimed = await claimDeliveries(deps, opts);
  const counts = { leased: claimed.length, succeeded: 0, retrying: 0, failed: 0, disabled: 0 };
  let next = 0;
  const worker = async () => {
    while (next < claimed.length) counts[await claimed[next++]!.send()]++;
  };
  await Promise.all(Array.from({ length: Math.min(deps.concurrency, claimed.length) }, worker));
  return counts;
}

/** A leased delivery, ready to be sent: send() never throws and resolves to what became of it. */
export interface ClaimedDelivery {
  readonly delivery: Leased;
  send(): Promise<Verdict>;
}

/**
 * Leases up to `limit` (default: the concurrency) due deliveries, fairly (claim.ts), and returns them
 * unsent. Safe to run on several processes concurrently.
 */
export async function claimDeliveries(
  deps: DeliveryDeps,
  opts: { now?: Date; limit?: number; exclude?: readonly string[] } = {},
): Promise<ClaimedDelivery[]> {
  const now = opts.now ?? new Date();
  const { leased, endpoints } = await lease(deps, now, opts.limit ?? deps.concurrency, opts.exclude);
  // Secrets are opened once per endpoint per claim (a claim often holds many deliveries of one endpoint).
  const opened = new Map<string, Promise<string[]>>();
  const secretsOf = (e: EndpointRow) => {
    let found = opened.get(e.id);
    if (!found) {
      found = signingSecrets(deps.secretBox, e);
      found.catch(() => {}); // each send reports its own failure
      opened.set(e.id, found);
    }
    return found;
  };
  return leased.map((d) => ({
    delivery: d,
    send: () =>
      attempt(deps, d, endpoints.get(d.endpointId), secretsOf).catch((err: unknown) => {
        // Recording failed (database away): the lease runs out and the attempt is retried later.
        deps.logger.error('webhook attempt could not be recorded', { deliveryId: d.id, err });
        return 'retrying' as const;
      }),
  }));
}

async function lease(
  deps: DeliveryDeps,
  now: Date,
  limit: number,
  exclude: readonly string[] = [],
): Promise<{ leased: Leased[]; endpoints: Map<string, EndpointRow> }> {
  const leaseUntil = new Date(now.getTime() + leaseMs(deps));
  return deps.sql.begin(async (tx) => {
    const rows = await claimFair(tx, {
      now,
      leaseUntil,
      free: limit,
      share: deps.share ?? fairShareFor(deps.concurrency),
      breaker: deps.breaker ?? DEFAULT_BREAKER,
      exclude,
    });
    if (rows.length === 0) return { leased: [], endpoints: new Map() };
    const ids = rows.map((r) => r.id);
    // An attempt left without a result: its worker stopped and its lease ran out.
    await tx`update webhook_attempts set finished_at = ${now},
        error = 'abandoned: the sending process stopped before it recorded a result'
      where delivery_id = any(${tx.array(ids)}) and finished_at is null`;
    await tx`insert into webhook_attempts ${tx(
      rows.map((r) => ({ delivery_id: r.id, attempt: r.attempt_count, started_at: now })) as never,
    )}`;
    const endpointIds = [...new Set(rows.map((r) => r.endpoint_id))];
    const endpoints = await tx<EndpointRow[]>`select id, url, secret_ciphertext, previous_secret_ciphertext,
        previous_expires_at, disabled_at, deleted_at
      from webhook_endpoints where id = any(${tx.array(endpointIds)})`;
    return {
      leased: rows.map((r) => ({
        id: r.id,
        endpointId: r.endpoint_id,
        eventId: r.event_id,
        payload: r.payload,
        attempt: r.attempt_count,
        cycleAttempt: r.attempt_count - r.schedule_start,
      })),
      endpoints: new Map(endpoints.map((e) => [e.id, e])),
    };
  });
}

async function attempt(
  deps: DeliveryDeps,
  d: Leased,
  endpoint: EndpointRow | undefined,
  secretsOf: (e: EndpointRow) => Promise<string[]>,
): Promise<Verdict> {
  if (!endpoint || endpoint.deleted_at || endpoint.disabled_at || !endpoint.secret_ciphertext) {
    // Deleted or disabled between fan-out and now: close the delivery without sending.
    const reason = endpoint?.disabled_at ? 'endpoint disabled' : 'endpoint deleted';
    await record(deps.sql, d, { ...emptyOutcome(), error: `not sent: ${reason}` }, 'disabled', null);
    return 'disabled';
  }
  const outcome = await send(deps, d, endpoint, secretsOf);
  const verdict = judge(outcome, d, deps.scheduleMs.length);
  let nextAt: Date | null = null;
  if (verdict === 'retrying') {
    const scheduled = withJitter(deps.scheduleMs[d.cycleAttempt]!, deps.jitterPercent, deps.random);
    const cap = Math.max(...deps.scheduleMs);
    const asked = retryAfterMs(outcome.retryAfter, Date.now(), cap) ?? 0;
    nextAt = new Date(Date.now() + Math.max(scheduled, asked));
  }
  await record(deps.sql, d, outcome, verdict, nextAt);
  if (outcome.silent !== undefined) {
    await recordHealth(deps.sql, d.endpointId, !outcome.silent, deps.breaker ?? DEFAULT_BREAKER);
  }
  if (verdict === 'disabled') {
    await disableEndpoint(deps.sql, d.endpointId, 'the receiver answered 410 Gone');
    deps.logger.info('webhook endpoint disabled: receiver answered 410', { endpointId: d.endpointId });
  }
  deps.logger.debug('webhook attempt', {
    deliveryId: d.id,
    attempt: d.attempt,
    status: outcome.httpStatus,
    error: outcome.error,
    verdict,
  });
  return verdict;
}

/**
 * Any 2xx succeeds; 410 disables the endpoint. Everything else is retried while the schedule lasts:
 * 429, 5xx, timeouts and connection errors, and also 3xx (never followed) and other 4xx, because a
 * receiver's misconfiguration (a wrong route, a secret not yet deployed) is usually fixed within the
 * three days the schedule covers, as the Standard Webhooks guidance recommends.
 */
export function judge(
  outcome: Pick<Outcome, 'httpStatus'>,
  d: Pick<Leased, 'cycleAttempt'>,
  attempts: number,
) {
  const status = outcome.httpStatus;
  if (status !== null && status >= 200 && status <= 299) return 'succeeded' as const;
  if (status === 410) return 'disabled' as const;
  return d.cycleAttempt >= attempts ? ('failed' as const) : ('retrying' as const);
}

/** Every secret that signs now: the current one, and the previous one during a rotation overlap. */
function signingSecrets(box: SecretBox, endpoint: EndpointRow): Promise<string[]> {
  const open = [box.decrypt(endpoint.secret_ciphertext!, endpoint.id)];
  if (
    endpoint.previous_secret_ciphertext &&
    endpoint.previous_expires_at &&
    endpoint.previous_expires_at.getTime() > Date.now()
  ) {
    open.push(box.decrypt(endpoint.previous_secret_ciphertext, endpoint.id));
  }
  return Promise.all(open);
}

async function send(
  deps: DeliveryDeps,
  d: Leased,
  endpoint: EndpointRow,
  secretsOf: (e: EndpointRow) => Promise<string[]>,
): Promise<Outcome> {
  const startedAt = new Date();
  const started = performance.now();
  const done = (fields: Partial<Outcome>): Outcome => ({
    ...emptyOutcome(),
    startedAt,
    durationMs: Math.round(performance.now() - started),
    ...fields,
  });
  let sent = false;
  try {
    // Again at every attempt: the name may resolve elsewhere now than when it was registered.
    await assertDeliverableUrl(endpoint.url, {
      allowPrivate: deps.allowPrivate,
      ...(deps.resolve ? { resolve: deps.resolve } : {}),
    });
    const secrets = await secretsOf(endpoint);
    const headers = await signWebhook({
      id: d.eventId,
      timestampSeconds: Math.floor(Date.now() / 1000),
      body: d.payload,
      secrets,
    });
    sent = true;
    const res = await fetchText(endpoint.url, {
      method: 'POST',
      headers: { ...headers, [ATTEMPT_HEADER]: String(d.attempt) },
      body: d.payload,
      timeoutMs: deps.timeoutMs,
      redirect: 'manual',
      fetchImpl: excerptFetch(deps.fetchImpl ?? deliveryFetch(deps), RESPONSE_EXCERPT_BYTES),
    });
    const redirect =
      res.status >= 300 && res.status <= 399
        ? `redirect${res.headers.get('location') ? ` to ${res.headers.get('location')}` : ''} not followed; ` +
          'register the final URL instead'
        : null;
    return done({
      silent: false,
      httpStatus: res.status,
      error: redirect,
      excerpt: res.text,
      retryAfter: res.headers.get('retry-after'),
    });
  } catch (err) {
    return done({ error: describeError(err, deps.timeoutMs), ...(sent ? { silent: true } : {}) });
  }
}

/** Node: connections pinned to the addresses the check approved (pinned.ts); workerd: its own fetch. */
function deliveryFetch(deps: DeliveryDeps): typeof fetch {
  if (onWorkerd()) return fetch;
  return pinnedFetch({ allowPrivate: deps.allowPrivate, ...(deps.resolve ? { resolve: deps.resolve } : {}) });
}

function emptyOutcome(): Outcome {
  return {
    startedAt: new Date(),
    durationMs: 0,
    httpStatus: null,
    error: null,
    excerpt: null,
    retryAfter: null,
  };
}

/** What went wrong, in words a merchant can act on; never a stack. */
export function describeError(err: unknown, timeoutMs: number): string {
  if (err instanceof TimeoutError) return `timeout: no complete answer within ${timeoutMs} ms`;
  if (err instanceof UnsafeWebhookUrlError) return `refused URL: ${err.message}`;
  if (err instanceof AppError) return `${err.code}: ${err.message}`;
  if (err instanceof Error) {
    // fetch wraps the socket's error as its cause; node:http (the pinned fetch) throws it as it is.
    const cause = (err.cause ?? err) as { code?: unknown; message?: unknown };
    const code = typeof cause.code === 'string' ? cause.code : undefined;
    const detail = typeof cause.message === 'string' ? cause.message : err.message;
    return `connection failed${code ? ` (${code})` : ''}: ${detail}`.slice(0, 500);
  }
  return `failed: ${String(err)}`.slice(0, 500);
}

async function record(sql: Sql, d: Leased, o: Outcome, verdict: Verdict, nextAt: Date | null): Promise<void> {
  const finishedAt = new Date(o.startedAt.getTime() + o.durationMs);
  const status = verdict === 'retrying' ? 'pending' : verdict;
  const lastError = o.error ?? (verdict === 'succeeded' ? null : `HTTP ${o.httpStatus}`);
  // The attempt_count guard: if this lease ran out and another process took the delivery, its newer
  // attempt owns the row; this one is still logged.
  await sql`with logged as (
      update webhook_attempts set started_at = ${o.startedAt}, finished_at = ${finishedAt},
        duration_ms = ${o.durationMs}, http_status = ${o.httpStatus}, error = ${clean(o.error)},
        response_excerpt = ${clean(o.excerpt)}
      where delivery_id = ${d.id} and attempt = ${d.attempt}
      returning 1
    )
    update webhook_deliveries set status = ${status}, next_attempt_at = ${nextAt}, leased_until = null,
      last_status = ${o.httpStatus}, last_error = ${clean(lastError)}, updated_at = ${finishedAt}
    where id = ${d.id} and attempt_count = ${d.attempt} and status = 'pending'`;
}

/** PostgreSQL text refuses NUL; a receiver may answer with anything. */
function clean(text: string | null): string | null {
  return text === null ? null : text.replaceAll('\u0000', '\ufffd');
}

const NULL_BODY_STATUSES = new Set([204, 205, 304]);

/**
 * A fetch that keeps only the first `maxBytes` of the answer and stops reading there, so a receiver
 * that streams a large (or endless) body neither fills memory nor turns a 2xx into an error.
 */
export function excerptFetch(base: typeof fetch, maxBytes: number): typeof fetch {
  return (async (input: RequestInfo | URL, init?: RequestInit) => {
    const res = await base(input, init);
    const head = await readPrefix(res, maxBytes);
    return new Response(NULL_BODY_STATUSES.has(res.status) ? null : head, {
      status: res.status,
      statusText: res.statusText,
      headers: res.headers,
    });
  }) as typeof fetch;
}

async function readPrefix(res: Response, maxBytes: number): Promise<Uint8Array<ArrayBuffer>> {
  const out = new Uint8Array(maxBytes);
  let length = 0;
  if (!res.body) return out.subarray(0, 0);
  const reader = res.body.getReader();
  try {
    while (length < maxBytes) {
      const { done, value } = await reader.read();
      if (done) return out.subarray(0, length);
      const take = Math.min(value.byteLength, maxBytes - length);
      out.set(value.subarray(0, take), length);
      length += take;
    }
    await reader.cancel();
  } finally {
    reader.releaseLock();
  }
  return out.subarray(0, length);
}
