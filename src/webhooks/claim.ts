// Fair claims of due deliveries. A delivery slot held by a receiver that never answers is held until
// the timeout, and cannot be taken back; so no merchant, and no endpoint, may hold more than its share
// of them, and free slots go round-robin: merchant by merchant, each merchant's endpoints least
// recently served first. An endpoint whose last attempts got no answer gets one delivery at a time;
// one whose breaker is open (breaker.ts) gets none until its pause ends, then a single probe.
//
// Endpoint rows are locked (SKIP LOCKED) while their share is worked out and their deliveries leased,
// so two processes never both fill one endpoint's share. A merchant's cap is counted from the database
// too, but two processes claiming for two endpoints of one merchant at the same instant may overshoot
// it by a claim each; that is bounded and brief.
import type { Tx } from '../db/client';
import type { BreakerPolicy } from './breaker';

export interface FairShare {
  /** Deliveries one merchant may have in flight at once (all its endpoints together). */
  readonly perMerchant: number;
  /** Deliveries one healthy endpoint may have in flight at once. */
  readonly perEndpoint: number;
}

/** Half the slots per merchant and per endpoint (at least one): a single busy merchant still gets most. */
export function fairShareFor(concurrency: number): FairShare {
  const half = Math.max(1, Math.ceil(concurrency / 2));
  return { perMerchant: half, perEndpoint: half };
}

export interface Candidate {
  readonly endpointId: string;
  readonly merchantId: string;
  /** Due deliveries, counted up to the endpoint's share. */
  readonly due: number;
  /** Deliveries in flight now. */
  readonly inFlight: number;
  /** At most this many in flight: 1 while failing or probing, else the per-endpoint share. */
  readonly cap: number;
}

/**
 * How many deliveries each candidate endpoint gets out of `free` slots: one at a time, merchant by
 * merchant in the candidates' order (least recently served first), within every cap. Pure.
 */
export function allocate(
  candidates: readonly Candidate[],
  merchantInFlight: ReadonlyMap<string, number>,
  free: number,
  share: FairShare,
): Map<string, number> {
  const out = new Map<string, number>();
  const byMerchant = new Map<string, Candidate[]>();
  for (const c of candidates) {
    const list = byMerchant.get(c.merchantId);
    if (list) list.push(c);
    else byMerchant.set(c.merchantId, [c]);
  }
  const merchantLeft = new Map<string, number>();
  for (const m of byMerchant.keys()) merchantLeft.set(m, share.perMerchant - (merchantInFlight.get(m) ?? 0));
  const next = new Map<string, number>(); // each merchant's round-robin position among its endpoints
  let left = free;
  let progress = true;
  while (left > 0 && progress) {
    progress = false;
    for (const [m, list] of byMerchant) {
      if (left <= 0) break;
      if (merchantLeft.get(m)! <= 0) continue;
      // This merchant's next endpoint with room, starting after the last one served.
      const start = next.get(m) ?? 0;
      for (let k = 0; k < list.length; k++) {
        const i = (start + k) % list.length;
        const c = list[i]!;
        const given = out.get(c.endpointId) ?? 0;
        if (given >= c.due || c.inFlight + given >= c.cap) continue;
        out.set(c.endpointId, given + 1);
        merchantLeft.set(m, merchantLeft.get(m)! - 1);
        next.set(m, i + 1);
        left--;
        progress = true;
        break;
      }
    }
  }
  return out;
}

export interface ClaimedRow {
  readonly id: string;
  readonly endpoint_id: string;
  readonly event_id: string;
  readonly payload: string;
  readonly attempt_count: number;
  readonly schedule_start: number;
}

export interface ClaimOptions {
  readonly now: Date;
  readonly leaseUntil: Date;
  readonly free: number;
  readonly share: FairShare;
  readonly breaker: BreakerPolicy;
  /** Deliveries not to claim again (a bounded tick tries each delivery once). */
  readonly exclude?: readonly string[];
}

/** Endpoints looked at per claim; the round-robin order brings the others forward next time. */
const CANDIDATE_ENDPOINTS = 200;

/**
 * Inside `tx`: picks the endpoints to serve, leases their deliveries (attempt number claimed,
 * next_attempt_at and leased_until pushed to the lease's end) and returns the leased rows.
 */
export async function claimFair(tx: Tx, o: ClaimOptions): Promise<ClaimedRow[]> {
  if (o.free <= 0) return [];
  const exclude = [...(o.exclude ?? [])];
  const rows = await tx<
    {
      id: string;
      merchant_id: string;
      consecutive_failures: number;
      probing: boolean;
      due: number;
      in_flight: number;
    }[]
  >`select e.id, e.merchant_id, e.consecutive_failures, e.probing,
      (select count(*)::int from (select 1 from webhook_deliveries d
        where d.endpoint_id = e.id and d.status = 'pending' and d.next_attempt_at <= ${o.now}
          and not (d.id = any(${tx.array(exclude)}::text[]))
        limit ${o.share.perEndpoint}) x) as due,
      (select count(*)::int from webhook_deliveries f
        where f.endpoint_id = e.id and f.leased_until > ${o.now}) as in_flight
    from webhook_endpoints e
    where (e.paused_until is null or e.paused_until <= ${o.now})
      and exists (select 1 from webhook_deliveries d where d.endpoint_id = e.id and d.status = 'pending'
        and d.next_attempt_at <= ${o.now})
    order by e.served_at nulls first, e.id
    limit ${CANDIDATE_ENDPOINTS}
    for update of e skip locked`;
  if (rows.length === 0) return [];
  const merchants = [...new Set(rows.map((r) => r.merchant_id))];
  const inFlight = await tx<{ merchant_id: string; n: number }[]>`select merchant_id, count(*)::int as n
    from webhook_deliveries
    where merchant_id = any(${tx.array(merchants)}) and leased_until is not null and leased_until > ${o.now}
    group by merchant_id`;
  const candidates: Candidate[] = rows.map((r) => ({
    endpointId: r.id,
    merchantId: r.merchant_id,
    due: r.due,
    inFlight: r.in_flight,
    // Failing (no answer lately) or half-open after a pause: one at a time, so a dead receiver holds
    // one slot, and the first delivery after a pause is the probe.
    cap: r.consecutive_failures > 0 || r.probing ? 1 : o.share.perEndpoint,
  }));
  const given = allocate(candidates, new Map(inFlight.map((r) => [r.merchant_id, r.n])), o.free, o.share);
  if (given.size === 0) return [];
  const wanted = [...given].map(([endpoint_id, n]) => ({ endpoint_id, n }));
  const leased = await tx<ClaimedRow[]>`with wanted as (
      select * from jsonb_to_recordset(${tx.json(wanted)}::jsonb) as w(endpoint_id text, n int)),
    due as (
      select x.id from wanted w cross join lateral (
        select d.id from webhook_deliveries d
        where d.endpoint_id = w.endpoint_id and d.status = 'pending' and d.next_attempt_at <= ${o.now}
          and not (d.id = any(${tx.array(exclude)}::text[]))
        order by d.next_attempt_at, d.id
        limit w.n
        for update of d skip locked) x)
    update webhook_deliveries d set attempt_count = d.attempt_count + 1, next_attempt_at = ${o.leaseUntil},
      leased_until = ${o.leaseUntil}, updated_at = ${o.now}
    from due where d.id = due.id
    returning d.id, d.endpoint_id, d.event_id, d.payload, d.attempt_count, d.schedule_start`;
  // Served now: to the back of the round-robin. An endpoint whose breaker pause has ended (it still
  // counts its failures) sends this one delivery as its probe, and nothing else until that answers.
  const served = [...new Set(leased.map((r) => r.endpoint_id))];
  if (served.length > 0) {
    await tx`update webhook_endpoints set served_at = ${o.now},
        probing = consecutive_failures >= ${o.breaker.failures},
        paused_until = case when consecutive_failures >= ${o.breaker.failures} then ${o.leaseUntil}
          else paused_until end
      where id = any(${tx.array(served)})`;
  }
  return leased;
}
