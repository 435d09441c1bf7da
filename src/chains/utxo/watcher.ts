// The UTXO watcher of one network: the one watcher (watch/watcher.ts) over a UTXO backend
// (source.ts). Kept as its own factory so callers configure a UTXO backend and its poll schedule
// in one place.
import type { ScreeningService } from '../../aml/screen';
import type { Sql } from '../../db/client';
import type { StateDeps } from '../../invoices/state';
import type { Logger } from '../../lib/log';
import { createWatcher, type TickResult } from '../../watch/watcher';
import type { NetworkId } from '../networks';
import type { UtxoBackend } from './backends/types';
import type { AddressPollSchedule } from './poll-schedule';
import { createUtxoSource } from './source';

export interface UtxoWatcherOptions {
  readonly sql: Sql;
  readonly state: StateDeps;
  readonly backend: UtxoBackend;
  readonly logger?: Logger;
  /** Screens every new payment's senders in the payment's own transaction (SPEC section 7). */
  readonly screening?: Pick<ScreeningService, 'screenPayment'> | undefined;
  /** Identifies this process in `leases`; random by default. */
  readonly holder?: string;
  /** How long a tick's lease lasts (renewed every tick); default 30 s. */
  readonly leaseMs?: number;
  /** False runs without the lease (tests of concurrent watchers). */
  readonly useLease?: boolean;
  /**
   * Every tick gives its lease back when it ends: for a process that lives for one tick (a Workers
   * cron run, or a Workers request's check), whose lease would otherwise keep the others out.
   */
  readonly releaseLeaseAfterTick?: boolean;
  /** Counted payments are re-checked (confirmations, reorgs) until this deep; default 24. */
  readonly finalityDepth?: number;
  /** The whole watched set is reloaded this often (new invoices are added every tick); default 30 s. */
  readonly watchedReloadMs?: number;
  /** Tests: runs after the payments are written and before the cursor is (a crash point). */
  readonly beforeCursorSave?: () => Promise<void>;
  /**
   * Esplora: which addresses are polled when (poll-schedule.ts). Without one every watched address
   * is polled every tick, which a node of one's own or the sandbox facade can take and a public
   * service cannot.
   */
  readonly schedule?: AddressPollSchedule;
  /** Block-scanning backends: a checkout page's check runs a tick unless one ran this recently; default 2 s. */
  readonly checkGapMs?: number;
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
