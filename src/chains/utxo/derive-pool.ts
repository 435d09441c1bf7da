// Address derivation off the event loop, on Node. Each address is ~0.1 ms of pure-JS curve arithmetic
// (derive/); on the main thread a batch of concurrent invoices holds every other request (checkout
// pages, webhooks, the API) for that long. A worker thread derives while the event loop serves HTTP
// and PostgreSQL. Workers (workerd) derive inline (deriveInline): this module is for Node only.
import { Worker } from 'node:worker_threads';
import type { Logger } from '../../lib/log';
import {
  type AddressJob,
  type DerivedAddress,
  type DeriveMany,
  deriveAddresses,
  deriveInline,
} from './derive';
import type { DeriveReply, DeriveRequest } from './derive-thread-body';

export interface DerivationThreads {
  readonly derive: DeriveMany;
  /** The live threads (for tests and diagnostics). */
  readonly workers: readonly Worker[];
  /** Stops the threads; what is pending and what comes later is derived inline. */
  close(): Promise<void>;
}

interface Pending {
  readonly jobs: readonly AddressJob[];
  resolve(v: DerivedAddress[]): void;
  reject(e: unknown): void;
}

interface Thread {
  readonly worker: Worker;
  readonly pending: Map<number, Pending>;
}

/** A thread that dies this many times in all is not started again: derivation stays inline. */
const MAX_RESTARTS = 3;

/**
 * `count` derivation threads (0: derive inline). A thread that fails loses nothing: what it had pending
 * is derived inline, and it is restarted (a few times at most). A job the thread rejects is derived
 * inline again, so the caller gets the real error (an InvalidAccountKeyError, say), not a message.
 */
export function startDerivationThreads(count: number, logger?: Logger): DerivationThreads {
  const threads: Thread[] = [];
  let nextId = 1;
  let turn = 0;
  let restarts = 0;
  let closed = false;

  const settleInline = (p: Pending) => {
    try {
      p.resolve(deriveAddresses(p.jobs));
    } catch (err) {
      p.reject(err);
    }
  };

  const spawn = (): Thread => {
    const worker = new Worker(new URL('./derive-thread.mjs', import.meta.url));
    // Idle threads do not keep the process alive; one with work pending does (see `derive`).
    worker.unref();
    const thread: Thread = { worker, pending: new Map() };
    worker.on('message', (reply: DeriveReply) => {
      const p = thread.pending.get(reply.id);
      if (!p) return;
      thread.pending.delete(reply.id);
      if (thread.pending.size === 0) worker.unref();
      if ('error' in reply) return settleInline(p);
      p.resolve(reply.addresses.map((address, i) => ({ address, scriptPubKeyHex: reply.scripts[i]! })));
    });
    const lost = (why: string, err?: unknown) => {
      const at = threads.indexOf(thread);
      if (at < 0) return; // already handled (an error is followed by an exit)
      threads.splice(at, 1);
      const pending = [...thread.pending.values()];
      thread.pending.clear();
      if (!closed) {
        logger?.warn('address derivation thread stopped; its work is derived inline', {
          why,
          pending: pending.length,
          ...(err ? { err } : {}),
        });
        if (restarts < MAX_RESTARTS) {
          restarts++;
          threads.push(spawn());
        }
      }
      for (const p of pending) settleInline(p);
    };
    worker.on('error', (err) => lost('error', err));
    worker.on('exit', (code) => lost(`exit ${code}`));
    return thread;
  };

  for (let i = 0; i < count; i++) threads.push(spawn());

  return {
    get workers() {
      return threads.map((t) => t.worker);
    },
    derive: (jobs) => {
      if (jobs.length === 0 || threads.length === 0) return deriveInline(jobs);
      const thread = threads[turn++ % threads.length]!;
      const id = nextId++;
      return new Promise<DerivedAddress[]>((resolve, reject) => {
        thread.pending.set(id, { jobs, resolve, reject });
        thread.worker.ref();
        const request: DeriveRequest = { id, jobs };
        thread.worker.postMessage(request);
      });
    },
    close: async () => {
      closed = true;
      await Promise.all(threads.map((t) => t.worker.terminate()));
    },
  };
}
