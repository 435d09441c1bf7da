// The webhook tick: fan out new outbox events, then deliver what is due, in bounded rounds. Called by
// src/watch/tick.ts (the Node loop and the Workers cron); safe on several processes at once.
import type { Services } from '../services';
import { type DeliverResult, type DeliveryDeps, deliverDue } from './deliver';
import { fanOut } from './outbox';

export interface WebhookTickResult extends DeliverResult {
  readonly events: number;
  readonly deliveriesCreated: number;
}

export interface WebhookTickOptions {
  readonly now?: Date;
  /** No new round starts after this long (a round itself is bounded by the request timeout). */
  readonly budgetMs?: number;
  readonly deps?: Partial<DeliveryDeps>;
}

const FAN_OUT_BATCH = 200;
const MAX_FAN_OUT_ROUNDS = 10;

/** The delivery dependencies from the services and their config. */
export function deliveryDepsFrom(services: Services, overrides: Partial<DeliveryDeps> = {}): DeliveryDeps {
  const c = services.config;
  return {
    sql: services.sql,
    secretBox: services.secretBox,
    logger: services.logger,
    allowPrivate: c.WEBHOOK_ALLOW_PRIVATE,
    timeoutMs: c.WEBHOOK_TIMEOUT_MS,
    scheduleMs: c.WEBHOOK_RETRY_SCHEDULE,
    jitterPercent: c.WEBHOOK_RETRY_JITTER_PERCENT,
    concurrency: c.WEBHOOK_CONCURRENCY,
    ...overrides,
  };
}

export async function runWebhookTick(
  services: Services,
  opts: WebhookTickOptions = {},
): Promise<WebhookTickResult> {
  const started = performance.now();
  const budgetMs = opts.budgetMs ?? 2000;
  const deps = deliveryDepsFrom(services, opts.deps);
  let events = 0;
  let deliveriesCreated = 0;
  for (let round = 0; round < MAX_FAN_OUT_ROUNDS; round++) {
    const r = await fanOut(services.sql, {
      batch: FAN_OUT_BATCH,
      firstDelayMs: deps.scheduleMs[0] ?? 0,
      ...(opts.now ? { now: opts.now } : {}),
    });
    events += r.events;
    deliveriesCreated += r.deliveries;
    if (r.events < FAN_OUT_BATCH) break;
  }
  const totals = { leased: 0, succeeded: 0, retrying: 0, failed: 0, disabled: 0 };
  // Two lanes of rounds, each with half the concurrency: one lane sends while the other waits for the
  // slowest answer of its round, so one slow receiver does not idle every other slot.
  const lanes = deps.concurrency >= 2 ? 2 : 1;
  const laneDeps = { ...deps, concurrency: Math.ceil(deps.concurrency / lanes) };
  const lane = async () => {
    for (;;) {
      const r = await deliverDue(laneDeps, opts.now ? { now: opts.now } : {});
      for (const k of Object.keys(totals) as (keyof typeof totals)[]) totals[k] += r[k];
      // A short round means nothing more is due; a full one may leave more behind.
      if (r.leased < laneDeps.concurrency || performance.now() - started > budgetMs) return;
    }
  };
  await Promise.all(Array.from({ length: lanes }, lane));
  return { events, deliveriesCreated, ...totals };
}
