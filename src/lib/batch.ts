// Coalesces the calls that arrive in one turn of the event loop into one call of `run`: many
// concurrent requests then share one database round trip instead of paying one each (the socket
// write, the driver's work and, for writes, the commit). A batch is sent only after its last member
// arrived, so no member ever reads state older than its own arrival, as with a query of its own.

export interface Batcher<I, O> {
  load(item: I): Promise<O>;
}

export interface BatcherOptions {
  /** A batch is sent at once when it reaches this size (default 64). */
  readonly maxSize?: number;
  /**
   * When a batch of several fails as a whole, run each item again on its own, so that one bad item
   * (a constraint it breaks) fails alone and the others go through. For writes that are atomic per
   * batch; leave it off where a failure would only repeat (an unreachable database).
   */
  readonly retryEachOnFailure?: boolean;
}

/**
 * `run` answers the items in order: a value, or an Error that rejects that item alone. When `run`
 * itself throws, every item of the batch is rejected with that error.
 */
export type BatchRun<I, O> = (items: readonly I[]) => Promise<readonly (O | Error)[]>;

// Node runs setImmediate callbacks after the I/O callbacks of the current turn: every request whose
// bytes were read in that turn has joined. Elsewhere (workerd) a zero timeout does the same job.
const later: (fn: () => void) => void =
  typeof setImmediate === 'function' ? (fn) => setImmediate(fn) : (fn) => setTimeout(fn, 0);

export function createBatcher<I, O>(run: BatchRun<I, O>, opts: BatcherOptions = {}): Batcher<I, O> {
  const maxSize = opts.maxSize ?? 64;
  type Waiting = { item: I; resolve: (o: O) => void; reject: (e: unknown) => void };
  let queue: Waiting[] = [];

  // Through a promise, so that a `run` that throws at once rejects like one that rejects.
  const send = (batch: Waiting[], onFailure: (err: unknown) => void) =>
    Promise.resolve(batch.map((w) => w.item))
      .then(run)
      .then((results) => {
        batch.forEach((w, i) => {
          const r = results[i];
          if (i >= results.length) w.reject(new Error(`batch answered ${results.length} of ${batch.length}`));
          else if (r instanceof Error) w.reject(r);
          else w.resolve(r as O);
        });
      }, onFailure);

  const flush = () => {
    const batch = queue;
    queue = [];
    if (batch.length === 0) return;
    send(batch, (err) => {
      if (opts.retryEachOnFailure && batch.length > 1) {
        for (const w of batch) send([w], w.reject);
      } else {
        for (const w of batch) w.reject(err);
      }
    });
  };

  return {
    load(item) {
      return new Promise<O>((resolve, reject) => {
        queue.push({ item, resolve, reject });
        if (queue.length === 1) later(flush);
        if (queue.length >= maxSize) flush();
      });
    },
  };
}
