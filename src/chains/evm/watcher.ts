// The EVM watcher of one network: the one watcher (watch/watcher.ts) over an EVM JSON-RPC node
// (source.ts). Kept as its own factory so callers configure an EVM network in one place.
import { createWatcher, type TickResult, type WatcherOptions } from '../../watch/watcher';
import type { NetworkId } from '../networks';
import type { EvmNetworkConfig } from './config';
import type { EvmRpc } from './rpc';
import { createEvmSource } from './source';

export interface EvmWatcherOptions extends Omit<WatcherOptions, 'backend'> {
  readonly net: EvmNetworkConfig;
  readonly rpc: EvmRpc;
  /** Blocks scanned per tick at most (catching up takes several ticks); default 100. */
  readonly maxBlocksPerTick?: number;
  /**
   * Without a cursor and a configured start block, the first scan starts at least this far below the
   * tip (and below the oldest invoice that still takes money).
   */
  readonly initialLookback?: number;
  /** Block hashes kept for reorg detection; default 128. */
  readonly hashWindow?: number;
  /** RPC calls in flight at once while fetching a range; default 8. */
  readonly concurrency?: number;
  /** Up to this many watched addresses go into the logs filter; above it, Transfer logs are matched here. */
  readonly topicFilterMax?: number;
}

export interface EvmTickResult extends TickResult {
  readonly tip?: number;
  readonly scanned?: { readonly from: number; readonly to: number } | null;
  /** Blocks stepped back after a reorg. */
  readonly reorgDepth?: number;
}

export interface EvmWatcher {
  readonly network: NetworkId;
  tick(now?: Date): Promise<EvmTickResult>;
  /**
   * An open checkout page asks about its invoice (on Workers nothing else scans between cron runs).
   * One scan covers every invoice, so this runs a tick unless one finished within `checkGapMs`;
   * undefined when nothing was due.
   */
  checkInvoice(invoiceId: string, now?: Date): Promise<EvmTickResult | undefined>;
}

export function createEvmWatcher(options: EvmWatcherOptions): EvmWatcher {
  const { net, rpc, maxBlocksPerTick, initialLookback, hashWindow, concurrency, topicFilterMax, ...rest } =
    options;
  const watcher = createWatcher({
    ...rest,
    backend: createEvmSource({
      net,
      rpc,
      logger: options.logger,
      maxBlocksPerTick,
      initialLookback,
      hashWindow,
      concurrency,
      topicFilterMax,
      finalityDepth: options.finalityDepth,
    }),
  });
  return {
    network: net.network,
    tick: (now) => watcher.tick(now) as Promise<EvmTickResult>,
    checkInvoice: (id, now) => watcher.checkInvoice(id, now) as Promise<EvmTickResult | undefined>,
  };
}
