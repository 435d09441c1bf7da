// Everything EVM, built from the configuration once per process (per request on Workers): the adapter
// that creates options, one RPC client, watcher and (with a sweeper key) sweeper per configured
// network, and the intent signer. Nothing here is a module-level singleton: tests build their own.
import type { ScreeningService } from '../../aml/screen';
import type { Config } from '../../config';
import type { Sql } from '../../db/client';
import type { StateDeps } from '../../invoices/state';
import { isId } from '../../lib/ids';
import type { Logger } from '../../lib/log';
import { acceptingNetworks } from '../../watch/watched';
import type { NetworkId } from '../networks';
import type { ChainAdapter } from '../types';
import { createEvmAdapter } from './adapter';
import { type EvmNetworkConfig, type EvmSettings, evmSettingsFromConfig } from './config';
import { createIntentSigner, type IntentSigner } from './intents';
import { createEvmRpc, type EvmRpc } from './rpc';
import { createEvmSweeper, type EvmSweeper, type SweepTickResult } from './sweep';
import { createEvmWatcher, type EvmTickResult, type EvmWatcher, type EvmWatcherOptions } from './watcher';

export interface EvmNetwork {
  readonly config: EvmNetworkConfig;
  readonly rpc: EvmRpc;
}

export interface EvmTickReport {
  readonly watchers: readonly (EvmTickResult | { network: NetworkId; error: string })[];
  readonly sweeps: readonly (SweepTickResult | { network: NetworkId; error: string })[];
}

export interface EvmService {
  readonly settings: EvmSettings;
  readonly networks: ReadonlyMap<NetworkId, EvmNetwork>;
  readonly adapter: ChainAdapter;
  /** Undefined without GATEWAY_SIGNER_KEY: intents are then refused (503). */
  readonly signer: IntentSigner | undefined;
  readonly watchers: readonly EvmWatcher[];
  readonly sweepers: readonly EvmSweeper[];
  /** One watcher tick per network (in parallel), then the sweeps; failures are logged, not thrown. */
  tick(now?: Date): Promise<EvmTickReport>;
  /**
   * An open checkout page asks about its invoice: each EVM network it can be paid on is scanned,
   * bounded and rate-limited by the watcher (`checkGapMs`); failures are logged, never thrown.
   */
  checkInvoice(invoiceId: string, now?: Date): Promise<void>;
}

export interface EvmServiceDeps {
  readonly sql: Sql;
  readonly state: StateDeps;
  readonly logger: Logger;
  readonly screening?: Pick<ScreeningService, 'screenPayment'> | undefined;
  /** Replace the RPC client of a network (tests put a failing proxy in front of anvil). */
  readonly rpcFor?: (net: EvmNetworkConfig) => EvmRpc;
  readonly watcher?: Partial<EvmWatcherOptions>;
  readonly sweepConfirmWithinMs?: number;
}

export function createEvmService(settings: EvmSettings, deps: EvmServiceDeps): EvmService {
  const networks = new Map<NetworkId, EvmNetwork>();
  for (const [id, config] of settings.networks) {
    const rpc =
      deps.rpcFor?.(config) ??
      createEvmRpc({
        urls: config.rpcUrls,
        timeoutMs: settings.rpcTimeoutMs,
        retries: settings.rpcRetries,
        logger: deps.logger,
      });
    networks.set(id, { config, rpc });
  }
  const watchers = [...networks.values()].map((n) =>
    createEvmWatcher({
      sql: deps.sql,
      state: deps.state,
      net: n.config,
      rpc: n.rpc,
      screening: deps.screening,
      logger: deps.logger,
      finalityDepth: settings.finalityDepth,
      maxBlocksPerTick: settings.scanMaxBlocks,
      ...deps.watcher,
    }),
  );
  const sweeperKey = settings.sweeperKey;
  // A flush needs the gateway signer's authorization (DepositFactory): no signer, no sweeps.
  const flushKey = settings.signerKey;
  const sweepers =
    sweeperKey && flushKey
      ? [...networks.values()].map((n) =>
          createEvmSweeper({
            sql: deps.sql,
            net: n.config,
            rpc: n.rpc,
            key: sweeperKey,
            signerKey: flushKey,
            logger: deps.logger,
            ...(deps.sweepConfirmWithinMs ? { confirmWithinMs: deps.sweepConfirmWithinMs } : {}),
          }),
        )
      : [];
  const failed = (network: NetworkId, what: string, err: unknown) => {
    deps.logger.warn(`evm ${what} failed`, { network, err });
    return { network, error: (err as Error)?.message ?? String(err) };
  };
  const byNetwork = new Map<string, EvmWatcher>(watchers.map((w) => [w.network, w]));
  return {
    settings,
    networks,
    adapter: createEvmAdapter({ networks: settings.networks }),
    signer: settings.signerKey ? createIntentSigner(settings.signerKey) : undefined,
    watchers,
    sweepers,
    async tick(now = new Date()) {
      const w = await Promise.all(
        watchers.map((x) => x.tick(now).catch((e) => failed(x.network, 'watcher', e))),
      );
      const s = await Promise.all(
        sweepers.map((x) => x.tick(now).catch((e) => failed(x.network, 'sweep', e))),
      );
      return { watchers: w, sweeps: s };
    },
    async checkInvoice(invoiceId, now = new Date()) {
      if (!isId('inv', invoiceId)) return;
      // Only invoices that can still take money: a page of a closed one has nothing to wait for.
      const networks = await acceptingNetworks(deps.sql, invoiceId, now);
      await Promise.all(
        networks
          .map((n) => byNetwork.get(n))
          .filter((w): w is EvmWatcher => w !== undefined)
          .map((w) =>
            w.checkInvoice(invoiceId, now).catch((err: unknown) => {
              deps.logger.warn('evm invoice check failed', { network: w.network, invoiceId, err });
            }),
          ),
      );
    },
  };
}

/** The EVM service for this configuration, or undefined when no EVM network is configured. */
export function evmServiceFromConfig(config: Config, deps: EvmServiceDeps): EvmService | undefined {
  const settings = evmSettingsFromConfig(config);
  return settings.networks.size === 0 ? undefined : createEvmService(settings, deps);
}
