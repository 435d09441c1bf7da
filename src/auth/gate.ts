// A bound on concurrent password hashing. Each scrypt holds 32 MiB (at the default cost) and a
// second of CPU, so unbounded parallel sign-ins exhaust memory and starve the API. A few run at
// once, a short queue waits, and anything beyond is refused at once with a Retry-After estimate.
import { AppError } from '../lib/errors';

/** 503 with Retry-After: too many sign-ins are being checked right now. */
export class HashingBusyError extends AppError {
  override name: string = 'HashingBusyError';
  readonly retryAfterSeconds: number;
  constructor(retryAfterSeconds: number) {
    super('sign_in_busy', `too many sign-ins at once; try again in ${retryAfterSeconds} s`, {
      status: 503,
      headers: { 'Retry-After': String(retryAfterSeconds) },
    });
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

export interface GateStats {
  /** Running now. */
  readonly active: number;
  /** The most that ever ran at once. */
  readonly peak: number;
  readonly queued: number;
  /** Refused with HashingBusyError so far. */
  readonly refused: number;
}

export interface HashGate {
  run<T>(fn: () => Promise<T>): Promise<T>;
  stats(): GateStats;
}

export function createHashGate(opts: { concurrency: number; queue: number }): HashGate {
  let active = 0;
  let peak = 0;
  let refused = 0;
  // Average seconds per hash, for the Retry-After estimate (starts at one second).
  let avgSeconds = 1;
  const waiting: (() => void)[] = [];

  // A finished hash hands its slot straight to the next in the queue, so no newcomer slips in between.
  const release = () => {
    const next = waiting.shift();
    if (next) next();
    else active--;
  };

  return {
    async run(fn) {
      if (active < opts.concurrency) active++;
      else if (waiting.length >= opts.queue) {
        refused++;
        const wait = Math.ceil(((waiting.length + active) / opts.concurrency) * avgSeconds);
        throw new HashingBusyError(Math.max(1, wait));
      } else await new Promise<void>((resolve) => waiting.push(resolve));
      peak = Math.max(peak, active);
      const t0 = Date.now();
      try {
        return await fn();
      } finally {
        avgSeconds = avgSeconds * 0.8 + ((Date.now() - t0) / 1000) * 0.2;
        release();
      }
    },
    stats: () => ({ active, peak, queued: waiting.length, refused }),
  };
}
