// A load generator in its own thread, so that making requests does not slow the server it measures
// (which runs on this process's main thread). Exactly `concurrency` requests are in flight at a time.
import { Worker } from 'node:worker_threads';
import { summariseLatencies } from './latency';

export interface LoadJob {
  readonly url: string;
  readonly method: 'GET' | 'POST';
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
  readonly concurrency: number;
  readonly durationMs: number;
  /** Requests answered with another status are counted as errors. */
  readonly expectStatus: number;
}

export interface LoadResult {
  /** Requests answered with the expected status. */
  readonly ok: number;
  readonly elapsedMs: number;
  readonly statuses: Readonly<Record<string, number>>;
  readonly firstError?: string;
  readonly latencies: Float64Array;
}

export interface LoadSummary {
  readonly requests: number;
  readonly errors: number;
  readonly perSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly firstError?: string;
}

export interface LoadGenerator {
  run(job: LoadJob): Promise<LoadResult>;
  close(): Promise<void>;
}

export function startLoadGenerator(): LoadGenerator {
  const worker = new Worker(new URL('./load-worker.mjs', import.meta.url));
  let next = 0;
  const pending = new Map<number, { resolve: (r: LoadResult) => void; reject: (e: unknown) => void }>();
  worker.on('message', (msg: { id: number; result: LoadResult }) => {
    pending.get(msg.id)?.resolve(msg.result);
    pending.delete(msg.id);
  });
  worker.on('error', (err) => {
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  });
  return {
    run(job) {
      const id = next++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        worker.postMessage({ type: 'run', id, job });
      });
    },
    async close() {
      worker.postMessage({ type: 'stop' });
      await worker.terminate();
    },
  };
}

/** Several measured phases of one target, summarised together. */
export function summarise(results: readonly LoadResult[]): LoadSummary {
  const ok = results.reduce((n, r) => n + r.ok, 0);
  const total = results.reduce((n, r) => n + Object.values(r.statuses).reduce((a, b) => a + b, 0), 0);
  const elapsedMs = results.reduce((n, r) => n + r.elapsedMs, 0);
  const all = new Float64Array(ok);
  let at = 0;
  for (const r of results) {
    all.set(r.latencies, at);
    at += r.latencies.length;
  }
  const latency = summariseLatencies(all, 3);
  const firstError = results.find((r) => r.firstError)?.firstError;
  return {
    requests: ok,
    errors: total - ok,
    perSecond: (ok / elapsedMs) * 1000,
    p50Ms: latency.p50,
    p99Ms: latency.p99,
    ...(firstError ? { firstError } : {}),
  };
}
