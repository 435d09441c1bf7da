// Jobs are ticks: one bounded unit of work, safe on several processes at once (row locks with
// SKIP LOCKED), called by a Node interval, a Workers cron trigger, or an open checkout page.
import { createCheckpoint } from '../audit/checkpoints';
import type { EvmTickReport } from '../chains/evm/service';
import { expireDue } from '../invoices/state';
import type { Services } from '../services';
import { runWebhookTick, type WebhookTickResult } from '../webhooks/dispatch';
import type { UtxoTickReport } from './utxo';

export interface TickResult {
  readonly expired: number;
  /** Absent when delivery runs apart (the Node delivery loop, the Workers cron's own step). */
  readonly webhooks?: WebhookTickResult;
  readonly evm?: EvmTickReport;
  readonly utxo?: UtxoTickReport;
}

export interface TickOptions {
  /**
   * Also deliver webhooks at the end (default true: one call does everything). The Node loop and the
   * Workers cron pass false and deliver apart (src/webhooks/dispatch.ts), so a receiver that never
   * answers cannot hold the watchers up for its timeout.
   */
  readonly webhooks?: boolean;
}

export async function runTick(
  services: Services,
  now = new Date(),
  opts: TickOptions = {},
): Promise<TickResult> {
  // Chain watchers first, so a payment that arrived just before expiry is counted before it expires.
  // (An EVM node being down is logged by the EVM service and never stops the rest of the tick.)
  const [evm, utxo] = await Promise.all([services.evm?.tick(now), services.utxo?.tick(now)]);
  const expired = await expireDue(services.sql, services.state, { now });
  // Old idempotency keys: a retry a day later is a new request.
  await services.sql`delete from idempotency_keys where created_at < ${new Date(now.getTime() - 86_400_000)}`;
  // Sign the audit chain's head into a checkpoint once per interval (SPEC section 7).
  if (services.auditKey?.secretKey) {
    const minIntervalMs = services.config.AUDIT_CHECKPOINT_INTERVAL_SECONDS * 1000;
    await createCheckpoint(services.sql, services.auditKey, { now, minIntervalMs }).catch((err) =>
      services.logger.warn('audit checkpoint failed', { err }),
    );
  }
  // Last, so the events written above go out in this same tick. Runs on the real clock: its leases
  // and retry times must agree across processes.
  const webhooks = opts.webhooks === false ? undefined : await runWebhookTick(services);
  return { expired, ...(webhooks ? { webhooks } : {}), ...(evm ? { evm } : {}), ...(utxo ? { utxo } : {}) };
}

/** A Node loop that never overlaps itself and logs (never throws) failures. */
export function startTickLoop(
  services: Services,
  intervalMs: number,
  opts: TickOptions = {},
): { stop(): Promise<void> } {
  let running: Promise<void> | undefined;
  let stopped = false;
  const timer = setInterval(() => {
    if (running || stopped) return;
    running = runTick(services, new Date(), opts)
      .then(() => undefined)
      .catch((err) => services.logger.warn('tick failed', { err }))
      .finally(() => {
        running = undefined;
      });
  }, intervalMs);
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
