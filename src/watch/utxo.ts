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
  createUtxoWatcher,
  type UtxoTickResult,
  type UtxoWatcher,
  type UtxoWatcherOptions,
} from '../chains/utxo/watcher';
import type { Sql } from '../db/client';
import type { StateDeps } from '../invoices/state';
import type { Logger } from '../lib/log';

export interface UtxoTickReport {
  readonly watchers: readonly (UtxoTickResult | { network: UtxoNetworkId; error: string })[];
}

export interface UtxoService {
  readonly settings: UtxoSettings;
  readonly watchers: readonly UtxoWatcher[];
  /** One tick per network, in parallel; a failing node is logged and reported, never thrown. */
  tick(now?: Date): Promise<UtxoTickReport>;
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
    }),
    concurrency: settings.esploraConcurrency,
    ...(logger ? { logger } : {}),
  });
}

export function createUtxoService(settings: UtxoSettings, deps: UtxoServiceDeps): UtxoService {
  const watchers = settings.networks.map((n) =>
    createUtxoWatcher({
      sql: deps.sql,
      state: deps.state,
      backend: deps.backendFor?.(n.network) ?? createUtxoBackend(settings, n, deps.logger),
      logger: deps.logger,
      screening: deps.screening,
      finalityDepth: settings.finalityDepth,
      ...deps.watcher,
    }),
  );
  return {
    settings,
    watchers,
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
