// When each watched address is polled on an Esplora service. Public instances (mempool.space,
// Blockstream) rate-limit, so the watcher must not ask about every address every tick:
//   - an invoice opened recently, or whose checkout page is open, is polled every `hotMs`;
//   - then its interval doubles with every poll, up to `maxMs` (`confirmMs` while a payment waits for
//     confirmations);
//   - past expiry + `graceMs` it is polled every `lateMs` until its monitoring window ends; after that
//     (or once cancelled) its interval doubles up to `agedMs`: every address ever issued stays
//     watched (a payment to it is recorded and screened, SPEC section 7), less often as it ages;
//   - all processes polling one service share a token bucket of `rps` requests per second (burst
//     `burst`); a 429 stops every request to it until Retry-After (or a doubling pause) has passed.
// State lives in PostgreSQL (utxo_address_polls, esplora_budgets), claimed under row locks: it
// survives restarts, and two processes never poll one address in the same window or overspend.
import type { PendingQuery, Row } from 'postgres';
import type { Sql, Tx } from '../../db/client';
import type { NetworkId } from '../networks';

export interface PollPolicy {
  /** Interval of a fresh invoice or one whose page is open. */
  readonly hotMs: number;
  /** An invoice this young counts as fresh. */
  readonly freshMs: number;
  /** A checkout page counts as open this long after it last asked. */
  readonly pageOpenMs: number;
  /** The longest interval before expiry. */
  readonly maxMs: number;
  /** The longest interval while the invoice is `processing` (a payment waits for blocks). */
  readonly confirmMs: number;
  /** After expiry a payment broadcast at the last moment is still looked for this long at the normal rate. */
  readonly graceMs: number;
  /** Interval after expiry + grace, until the monitoring window ends. */
  readonly lateMs: number;
  /** The longest interval of an address whose invoice no longer takes money. */
  readonly agedMs: number;
  /** An open page's own checks of one invoice: at most one per this gap. */
  readonly checkGapMs: number;
  /** Requests per second to the service, shared by every process. */
  readonly rps: number;
  /** Tokens the bucket holds at most (a burst after a quiet spell). */
  readonly burst: number;
  /** Pause after a 429 without Retry-After; doubles with each 429 in a row, up to `maxBlockMs`. */
  readonly blockMs: number;
  readonly maxBlockMs: number;
}

export const DEFAULT_POLL_POLICY: PollPolicy = {
  hotMs: 10_000,
  freshMs: 120_000,
  pageOpenMs: 60_000,
  maxMs: 300_000,
  confirmMs: 60_000,
  graceMs: 600_000,
  lateMs: 1_800_000,
  agedMs: 21_600_000,
  checkGapMs: 5_000,
  rps: 2,
  burst: 10,
  blockMs: 30_000,
  maxBlockMs: 600_000,
};

/** What the interval after a poll depends on. */
export interface PollState {
  readonly status: string;
  readonly createdAt: Date;
  readonly expiresAt: Date;
  readonly checkoutSeenAt: Date | null;
  /** The interval used last (0 before the first poll). */
  readonly intervalMs: number;
  /** The end of the invoice's monitoring window (unknown: treated as not yet over). */
  readonly monitoringUntil?: Date | null;
}

/** The interval until the next poll of an address polled at `now`. */
export function nextPollInterval(s: PollState, now: Date, p: PollPolicy = DEFAULT_POLL_POLICY): number {
  const t = now.getTime();
  if (s.checkoutSeenAt && t - s.checkoutSeenAt.getTime() < p.pageOpenMs) return p.hotMs;
  if (s.status === 'new' && t - s.createdAt.getTime() < p.freshMs) return p.hotMs;
  const open = s.status === 'new' || s.status === 'processing';
  const over = s.monitoringUntil != null && t >= s.monitoringUntil.getTime();
  if (s.status === 'invalid' || (!open && over)) {
    return Math.min(Math.max(p.agedMs, p.lateMs), Math.max(p.lateMs, s.intervalMs * 2));
  }
  if (s.status !== 'processing' && t >= s.expiresAt.getTime() + p.graceMs) return p.lateMs;
  const next = Math.min(p.maxMs, Math.max(p.hotMs, s.intervalMs * 2));
  return s.status === 'processing' ? Math.min(next, p.confirmMs) : next;
}

/** An address the watcher watches, with the invoice it belongs to. */
export interface PollTarget {
  readonly address: string;
  readonly invoiceId: string;
}

export interface PollClaim {
  /** Addresses to poll now (their next poll is already scheduled). */
  readonly addresses: ReadonlySet<string>;
  /** Tokens taken for them; requests beyond these are charged with `charge`. */
  readonly reserved: number;
}

/** Requests of an Esplora round besides the addresses: the tip height. */
const ROUND_OVERHEAD = 1;

export interface AddressPollSchedule {
  readonly network: NetworkId;
  readonly policy: PollPolicy;
  /**
   * The watched addresses due now, as many as the budget allows (most overdue first). `targets`:
   * addresses issued since the last round, which get a row (due at once) if they have none.
   * `overhead`: requests each poll round makes whatever the addresses (the tip).
   */
  claimDue(targets: readonly PollTarget[], now: Date, overhead?: number): Promise<PollClaim>;
  /**
   * Gives every address ever issued on the network that has no row one (due at once), in SQL: the
   * watcher's reconciliation, on a process's first round and now and then (an invoice committed out
   * of order is missed by the rounds' `targets`).
   */
  syncIssued(now: Date): Promise<number>;
  /**
   * An open checkout page: marks the invoice's addresses hot and claims those not polled within
   * `checkGapMs` (one check per gap whatever the number of pages and processes asking).
   */
  claimInvoice(
    invoiceId: string,
    targets: readonly PollTarget[],
    now: Date,
    overhead?: number,
  ): Promise<PollClaim>;
  /** Requests made beyond the reservation (history pages, statuses); may overdraw the bucket. */
  charge(requests: number, now: Date): Promise<void>;
  /** A 429: nothing goes to the service before Retry-After, or a pause that doubles each time. */
  rateLimited(retryAfterMs: number | undefined, now: Date): Promise<void>;
  /** A poll round that failed: its addresses become due again (first in line) once allowed. */
  release(addresses: Iterable<string>, now: Date): Promise<void>;
  /** A poll round that got its answers: the 429 streak is over. */
  succeeded(): Promise<void>;
}

export interface AddressPollScheduleOptions {
  readonly sql: Sql;
  readonly network: NetworkId;
  /** The budget's name: the service's origin, so networks on one host share its limit. */
  readonly budget: string;
  readonly policy?: Partial<PollPolicy>;
}

interface DueRow {
  readonly address: string;
  readonly interval_ms: number;
  readonly checkout_seen_at: Date | null;
  readonly status: string | null;
  readonly created_at: Date | null;
  readonly expires_at: Date | null;
  readonly monitoring_until: Date | null;
}

/** The budget name of an Esplora base URL (its origin). */
export function budgetName(baseUrl: string): string {
  try {
    return new URL(baseUrl).origin;
  } catch {
    return baseUrl;
  }
}

export function createAddressPollSchedule(options: AddressPollScheduleOptions): AddressPollSchedule {
  const { sql, network, budget } = options;
  const policy: PollPolicy = { ...DEFAULT_POLL_POLICY, ...options.policy };
  // Addresses of recent rounds that already have a row, so a tick inserts only new ones (bounded: the
  // targets are only those issued lately). Rows are never dropped: every issued address stays
  // watched, ever less often (nextPollInterval).
  const known = new Set<string>();

  async function ensureRows(targets: readonly PollTarget[], now: Date): Promise<void> {
    const fresh = targets.filter((t) => !known.has(t.address));
    if (known.size + fresh.length > 50_000) known.clear();
    if (fresh.length > 0) {
      await sql`insert into utxo_address_polls (network, address, invoice_id, interval_ms, next_poll_at)
        select ${network}, a, i, 0, ${now}::timestamptz
        from unnest(${sql.array(fresh.map((t) => t.address))}::text[], ${sql.array(fresh.map((t) => t.invoiceId))}::text[]) as x(a, i)
        on conflict (network, address) do nothing`;
    }
    for (const t of fresh) known.add(t.address);
  }

  /** Refills the bucket to `now` and returns the whole tokens available (0 while blocked). */
  async function available(tx: Tx, now: Date): Promise<{ tokens: number }> {
    await tx`insert into esplora_budgets (name, tokens, refilled_at)
      values (${budget}, ${policy.burst}, ${now}) on conflict (name) do nothing`;
    const [b] = await tx<{ tokens: number; refilled_at: Date; blocked_until: Date | null }[]>`
      select tokens, refilled_at, blocked_until from esplora_budgets where name = ${budget} for update`;
    if (!b) return { tokens: 0 };
    if (b.blocked_until && new Date(b.blocked_until).getTime() > now.getTime()) return { tokens: 0 };
    // A clock behind another process's refills nothing rather than going backwards.
    const elapsed = Math.max(0, now.getTime() - new Date(b.refilled_at).getTime());
    const tokens = Math.min(policy.burst, Number(b.tokens) + (policy.rps * elapsed) / 1000);
    await tx`update esplora_budgets set tokens = ${tokens},
      refilled_at = greatest(refilled_at, ${now}::timestamptz) where name = ${budget}`;
    return { tokens };
  }

  /** Takes tokens for `rows` plus the overhead, and schedules each row's next poll. */
  async function take(tx: Tx, rows: readonly DueRow[], now: Date, overhead: number) {
    if (rows.length === 0) return { addresses: new Set<string>(), reserved: 0 };
    const reserved = overhead + rows.length;
    await tx`update esplora_budgets set tokens = tokens - ${reserved} where name = ${budget}`;
    const intervals = rows.map((r) =>
      r.status && r.created_at && r.expires_at
        ? nextPollInterval(
            {
              status: r.status,
              createdAt: new Date(r.created_at),
              expiresAt: new Date(r.expires_at),
              checkoutSeenAt: r.checkout_seen_at ? new Date(r.checkout_seen_at) : null,
              intervalMs: r.interval_ms,
              monitoringUntil: r.monitoring_until ? new Date(r.monitoring_until) : null,
            },
            now,
            policy,
          )
        : policy.lateMs,
    );
    await tx`update utxo_address_polls p set interval_ms = x.ms,
        next_poll_at = ${now}::timestamptz + x.ms * interval '1 millisecond',
        last_polled_at = ${now}, polls = p.polls + 1
      from unnest(${tx.array(rows.map((r) => r.address))}::text[], ${tx.array(intervals)}::int[]) as x(a, ms)
      where p.network = ${network} and p.address = x.a`;
    return { addresses: new Set(rows.map((r) => r.address)), reserved };
  }

  /**
   * Within the budget (less `overhead` for the round's own requests): locks the rows of this network
   * that `where` admits, in `order`, takes their tokens and schedules their next polls.
   */
  function claimRows(
    now: Date,
    overhead: number,
    where: (tx: Tx) => PendingQuery<Row[]>,
    order: (tx: Tx) => PendingQuery<Row[]>,
  ) {
    return sql.begin(async (tx) => {
      const { tokens } = await available(tx, now);
      const room = Math.floor(tokens) - overhead;
      if (room < 1) return { addresses: new Set<string>(), reserved: 0 };
      const rows = await tx<DueRow[]>`select p.address, p.interval_ms, p.checkout_seen_at,
          i.status, i.created_at, i.expires_at, i.monitoring_until
        from utxo_address_polls p left join invoices i on i.id = p.invoice_id
        where p.network = ${network} and ${where(tx)}
        order by ${order(tx)} limit ${room}
        for update of p skip locked`;
      return take(tx, rows, now, overhead);
    });
  }

  return {
    network,
    policy,
    async claimDue(targets, now, overhead = ROUND_OVERHEAD) {
      await ensureRows(targets, now);
      // By the due index, not by the target list: millions of aged addresses cost nothing until due.
      return claimRows(
        now,
        overhead,
        (tx) => tx`p.next_poll_at <= ${now}`,
        (tx) => tx`p.next_poll_at, p.address`,
      );
    },

    async syncIssued(now) {
      const rows =
        await sql`insert into utxo_address_polls (network, address, invoice_id, interval_ms, next_poll_at)
        select po.network, po.address, po.invoice_id, 0, ${now}::timestamptz from payment_options po
        where po.network = ${network} and not exists (select 1 from utxo_address_polls p
          where p.network = po.network and p.address = po.address)
        on conflict (network, address) do nothing`;
      return rows.count;
    },

    async claimInvoice(invoiceId, targets, now, overhead = ROUND_OVERHEAD) {
      await ensureRows(targets, now);
      await sql`update utxo_address_polls set checkout_seen_at = ${now},
          next_poll_at = least(next_poll_at, ${now}::timestamptz + ${policy.hotMs} * interval '1 millisecond')
        where network = ${network} and invoice_id = ${invoiceId}`;
      const gapStart = new Date(now.getTime() - policy.checkGapMs);
      return claimRows(
        now,
        overhead,
        (tx) =>
          tx`p.invoice_id = ${invoiceId} and (p.last_polled_at is null or p.last_polled_at <= ${gapStart})`,
        (tx) => tx`p.address`,
      );
    },

    async charge(requests, now) {
      if (requests <= 0) return;
      await sql`update esplora_budgets set tokens = tokens - ${requests},
        refilled_at = greatest(refilled_at, ${now}::timestamptz) where name = ${budget}`;
    },

    async rateLimited(retryAfterMs, now) {
      await sql.begin(async (tx) => {
        await tx`insert into esplora_budgets (name, tokens, refilled_at)
          values (${budget}, 0, ${now}) on conflict (name) do nothing`;
        const [b] = await tx<{ strikes: number }[]>`
          select strikes from esplora_budgets where name = ${budget} for update`;
        const strikes = b?.strikes ?? 0;
        const pause =
          retryAfterMs !== undefined
            ? Math.min(retryAfterMs, policy.maxBlockMs)
            : Math.min(policy.maxBlockMs, policy.blockMs * 2 ** strikes);
        // The bucket restarts empty: the service has just said it is over its limit.
        await tx`update esplora_budgets set tokens = 0, refilled_at = ${new Date(now.getTime() + pause)},
            blocked_until = greatest(coalesce(blocked_until, ${now}::timestamptz), ${new Date(now.getTime() + pause)}::timestamptz),
            strikes = strikes + 1
          where name = ${budget}`;
      });
    },

    async release(addresses, now) {
      const list = [...addresses];
      if (list.length === 0) return;
      await sql`update utxo_address_polls set next_poll_at = ${now}
        where network = ${network} and address = any(${sql.array(list)}::text[])`;
    },

    async succeeded() {
      await sql`update esplora_budgets set strikes = 0 where name = ${budget} and strikes <> 0`;
    },
  };
}
