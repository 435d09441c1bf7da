// The UTXO watcher of one network: the one watcher (watch/watcher.ts) over a UTXO backend
// (source.ts). Kept as its own factory so callers configure a UTXO backend and its poll schedule
// in one place.
import { createWatcher, type TickResult, type WatcherOptions } from '../../watch/watcher';
import type { NetworkId } from '../networks';
import type { UtxoBackend } from './backends/types';
import type { AddressPollSchedule } from './poll-schedule';
import { createUtxoSource } from './source';

export interface UtxoWatcherOptions extends Omit<WatcherOptions, 'backend'> {
  readonly backend: UtxoBackend;
  /**
   * Esplora: which addresses are polled when (poll-schedule.ts). Without one every watched address
   * is polled every tick, which a node of one's own or the sandbox facade can take and a public
   * service cannot.
   */
  readonly schedule?: AddressPollSchedule;
}

export interface UtxoTickResult extends TickResult {
  readonly tipHeight?: number;
  readonly stats?: Readonly<Record<string, number>>;
  /** With a schedule: addresses polled this round (the others were not due or over budget). */
  readonly polled?: number;
}

export interface UtxoWatcher {
  readonly network: NetworkId;
  readonly backend: UtxoBackend;
  tick(now?: Date): Promise<UtxoTickResult>;
  /**
   * An open checkout page asks about its own invoice. With a schedule only that invoice's addresses
   * are polled, at most once per the schedule's `checkGapMs`; a block-scanning backend runs a tick
   * (under the lease) unless one ran within `checkGapMs`. Undefined result: nothing was due.
   */
  checkInvoice(invoiceId: string, now?: Date): Promise<UtxoTickResult | undefined>;
}

export function createUtxoWatcher(options: UtxoWatcherOptions): UtxoWatcher {
  const { backend, schedule, ...rest } = options;
  const watcher = createWatcher({
    ...rest,
    backend: createUtxoSource({ backend, schedule, logger: options.logger }),
  });
  return {
    network: backend.network,
    backend,
    tick: (now) => watcher.tick(now) as Promise<UtxoTickResult>,
    checkInvoice: (id, now) => watcher.checkInvoice(id, now) as Promise<UtxoTickResult | undefined>,
  };
}
