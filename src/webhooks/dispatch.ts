// The webhook tick: fan out new outbox events, then deliver what is due, in bounded rounds. Called by
// src/watch/tick.ts (the Node loop and the Workers cron); safe on several processes at once.
import type { Services } from '../services';
import { claimDeliveries, type DeliverResult, type DeliveryDeps } from './deliver';
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

/** Outbox events into deliveries, in bounded batches. */
async function fanOutAll(services: Services, deps: DeliveryDeps, now?: Date) {
  let events = 0;
  let deliveriesCreated = 0;
  for (let round = 0; round < MAX_FAN_OUT_ROUNDS; round++) {
    const r = await fanOut(services.sql, {
      batch: FAN_OUT_BATCH,
      firstDelayMs: deps.scheduleMs[0] ?? 0,
      ...(now ? { now } : {}),
    });
    events += r.events;
    deliveriesCreated += r.deliveries;
    if (r.events < FAN_OUT_BATCH) break;
  }
  return { events, deliveriesCreated };
}

/**
 * One bounded run (the Workers cron step, tests, benches): fan out, then keep the delivery slots
 * filled — a slot freed by an answer is claimed again at once, never after the slowest send of a
 * round — until nothing more can be claimed or the budget is spent; then wait for the sends in flight.
 * Each delivery is tried at most once per run.
 */
export async function runWebhookTick(
  services: Services,
  opts: WebhookTickOptions = {},
): Promise<WebhookTickResult> {
  const started = performance.now();
  const budgetMs = opts.budgetMs ?? 2000;
  const deps = deliveryDepsFrom(services, opts.deps);
  const { events, deliveriesCreated } = await fanOutAll(services, deps, opts.now);
  const totals = { leased: 0, succeeded: 0, retrying: 0, failed: 0, disabled: 0 };
  const tried: string[] = [];
  const inFlight = new Set<Promise<void>>();
  for (;;) {
    const free = deps.concurrency - inFlight.size;
    if (free > 0) {
      const got = await claimDeliveries(deps, {
        ...(opts.now ? { now: opts.now } : {}),
        limit: free,
        exclude: tried,
      });
      totals.leased += got.length;
      for (const c of got) {
        tried.push(c.delivery.id);
        const p: Promise<void> = c.send().then((verdict) => {
          totals[verdict]++;
          inFlight.delete(p);
        });
        inFlight.add(p);
      }
      if (got.length === 0 && inFlight.size === 0) break;
    }
    if (performance.now() - started > budgetMs) break;
    // Look again as soon as any one send finishes (a free slot, or a share given back).
    await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  return { events, deliveriesCreated, ...totals };
}

/**
 * The Node delivery loop, apart from the chain watchers' tick: every `intervalMs` it fans out new
 * events and claims due deliveries into its free slots; a slot freed by a finished send is claimed
 * again at once. Sends are never awaited as a round, so a receiver that never answers holds only its
 * own slot (and, by the fair shares, never more than its merchant's). Logs, never throws.
 */
export function startDeliveryLoop(
  services: Services,
  intervalMs: number,
  overrides: Partial<DeliveryDeps> = {},
): { stop(): Promise<void> } {
  const deps = deliveryDepsFrom(services, overrides);
  const inFlight = new Set<Promise<void>>();
  let pumping: Promise<void> | undefined;
  let again = false;
  let fanOutDue = true;
  let stopped = false;
  const pump = () => {
    if (stopped) return;
    if (pumping) {
      again = true;
      return;
    }
    pumping = (async () => {
      do {
        again = false;
        if (fanOutDue) {
          fanOutDue = false;
          await fanOutAll(services, deps);
        }
        const free = deps.concurrency - inFlight.size;
        if (free <= 0) break;
        for (const c of await claimDeliveries(deps, { limit: free })) {
          const p: Promise<void> = c.send().then(() => {
            inFlight.delete(p);
            pump();
          });
          inFlight.add(p);
        }
      } while (again && !stopped);
    })()
      .catch((err) => services.logger.warn('webhook delivery loop failed', { err }))
      .finally(() => {
        pumping = undefined;
      });
  };
  const timer = setInterval(() => {
    fanOutDue = true;
    pump();
  }, intervalMs);
  pump();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await pumping;
      await Promise.all(inFlight);
    },
  };
}
