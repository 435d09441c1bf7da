// Everything UTXO that runs in the background, built from the configuration once per process: one
// backend (Core JSON-RPC or Esplora) and one watcher per configured network. Nothing here is a
// module-level singleton: tests build their own.
import type { ScreeningService } from '../aml/screen';
import { createBitcoindBackend } from '../chains/utxo/backends/bitcoind';
import { type UtxoSettings, utxoSettingsFromConfig } from '../chains/utxo/backends/env';
import { createEsploraBackend, createEsploraClient } from '../chains/utxo/backends/esplora';
import { createRpcClient } from '../chains/utxo/backends/rpc';
import type { UtxoBackend } from '../chains/utxo/backends/types';
import type { UtxoNetworkId } from '../chains/utxo/params';
import {
  type AddressPollSchedule,
  budgetName,
  createAddressPollSchedule,
} from '../chains/utxo/poll-schedule';
import {
  createUtxoWatcher,
  type UtxoTickResult,
  type UtxoWatcher,
  type UtxoWatcherOptions,
} from '../chains/utxo/watcher';
import type { Sql } from '../db/client';
import type { StateDeps } from '../invoices/state';
import { isId } from '../lib/ids';
import type { Logger } from '../lib/log';

export interface UtxoTickReport {
  readonly watchers: readonly (UtxoTickResult | { network: UtxoNetworkId; error: string })[];
}

export interface UtxoService {
  readonly settings: UtxoSettings;
  readonly watchers: readonly UtxoWatcher[];
  /** One tick per network, in parallel; a failing node is logged and reported, never thrown. */
  tick(now?: Date): Promise<UtxoTickReport>;
  /**
   * An open checkout page asks about its invoice: each of its UTXO networks is checked (bounded per
   * invoice by the watcher); failures are logged, never thrown.
   */
  checkInvoice(invoiceId: string, now?: Date): Promise<void>;
}

export interface UtxoServiceDeps {
  readonly sql: Sql;
  readonly state: StateDeps;
  readonly logger: Logger;
  readonly screening?: Pick<ScreeningService, 'screenPayment'> | undefined;
  /** Replace a network's backend (tests). */
  readonly backendFor?: (network: UtxoNetworkId) => UtxoBackend | undefined;
  readonly watcher?: Partial<UtxoWatcherOptions>;
}

export function createUtxoBackend(
  settings: UtxoSettings,
  n: UtxoSettings['networks'][number],
  logger?: Logger,
) {
  if (n.backend.kind === 'rpc') {
    return createBitcoindBackend({
      network: n.network,
      rpc: createRpcClient({ url: n.backend.url, timeoutMs: settings.timeoutMs, retries: settings.retries }),
      maxBlocksPerTick: settings.scanMaxBlocks,
      ...(logger ? { logger } : {}),
    });
  }
  return createEsploraBackend({
    network: n.network,
    client: createEsploraClient({
      baseUrl: n.backend.url,
      timeoutMs: settings.timeoutMs,
      retries: settings.retries,
      // With a schedule a 429 pauses the whole service (every process) instead of one call here.
      retryRateLimited: settings.esploraRps === 0,
    }),
    concurrency: settings.esploraConcurrency,
    ...(logger ? { logger } : {}),
  });
}

/** The per-address schedule of an Esplora network (none for a node, or with UTXO_ESPLORA_RPS=0). */
export function createEsploraSchedule(
  settings: UtxoSettings,
  n: UtxoSettings['networks'][number],
  sql: Sql,
): AddressPollSchedule | undefined {
  if (n.backend.kind !== 'esplora' || settings.esploraRps === 0) return undefined;
  return createAddressPollSchedule({
    sql,
    network: n.network,
    budget: budgetName(n.backend.url),
    policy: {
      rps: settings.esploraRps,
      burst: Math.max(5, settings.esploraRps * 5),
      maxMs: settings.esploraMaxIntervalMs,
    },
  });
}

export function createUtxoService(settings: UtxoSettings, deps: UtxoServiceDeps): UtxoService {
  const watchers = settings.networks.map((n) => {
    const schedule = deps.backendFor?.(n.network) ? undefined : createEsploraSchedule(settings, n, deps.sql);
    return createUtxoWatcher({
      sql: deps.sql,
      state: deps.state,
      backend: deps.backendFor?.(n.network) ?? createUtxoBackend(settings, n, deps.logger),
      logger: deps.logger,
      screening: deps.screening,
      finalityDepth: settings.finalityDepth,
      ...(schedule ? { schedule } : {}),
      ...deps.watcher,
    });
  });
  const byNetwork = new Map<string, UtxoWatcher>(watchers.map((w) => [w.network, w]));
  return {
    settings,
    watchers,
    async checkInvoice(invoiceId, now = new Date()) {
      if (!isId('inv', invoiceId)) return;
      const rows = await deps.sql<{ network: string }[]>`
        select distinct network from payment_options where invoice_id = ${invoiceId}`;
      await Promise.all(
        rows
          .map((r) => byNetwork.get(r.network))
          .filter((w): w is UtxoWatcher => w !== undefined)
          .map((w) =>
            w.checkInvoice(invoiceId, now).catch((err: unknown) => {
              deps.logger.warn('utxo invoice check failed', { network: w.network, invoiceId, err });
            }),
          ),
      );
    },
    async tick(now = new Date()) {
      const results = await Promise.all(
        watchers.map((w) =>
          w.tick(now).catch((err: unknown) => {
            deps.logger.warn('utxo watcher failed', { network: w.network, err });
            return { network: w.network as UtxoNetworkId, error: (err as Error)?.message ?? String(err) };
          }),
        ),
      );
      return { watchers: results };
    },
  };
}

/** The UTXO service for this configuration, or undefined when no UTXO network is configured. */
export function utxoServiceFromConfig(
  config: Readonly<Record<string, unknown>>,
  deps: UtxoServiceDeps,
): UtxoService | undefined {
  const settings = utxoSettingsFromConfig(config);
  return settings.networks.length === 0 ? undefined : createUtxoService(settings, deps);
}
