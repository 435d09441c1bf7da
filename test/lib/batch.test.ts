import { describe, expect, it } from 'vitest';
import { createBatcher } from '../../src/lib/batch';

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A batcher that doubles numbers and records every batch it was asked to run. */
function doubling(
  opts: Parameters<typeof createBatcher>[1] = {},
  fail?: (items: readonly number[]) => unknown,
) {
  const batches: number[][] = [];
  const batcher = createBatcher<number, number>(async (items) => {
    batches.push([...items]);
    const why = fail?.(items);
    if (why instanceof Error) throw why;
    return items.map((n) => (n < 0 ? new RangeError(`negative: ${n}`) : n * 2));
  }, opts);
  return { batcher, batches };
}

describe('createBatcher', () => {
  it('runs the calls of one turn as one batch, answering each in order', async () => {
    const { batcher, batches } = doubling();
    const answers = await Promise.all([1, 2, 3, 4].map((n) => batcher.load(n)));
    expect(answers).toEqual([2, 4, 6, 8]);
    expect(batches).toEqual([[1, 2, 3, 4]]);
  });

  it('calls of a later turn go into a later batch', async () => {
    const { batcher, batches } = doubling();
    const first = batcher.load(1);
    await nextTurn();
    const second = batcher.load(2);
    expect(await Promise.all([first, second])).toEqual([2, 4]);
    expect(batches).toEqual([[1], [2]]);
  });

  it('a call that arrives while a batch is running waits for the next one (never joins a sent batch)', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const batches: number[][] = [];
    const batcher = createBatcher<number, number>(async (items) => {
      batches.push([...items]);
      await gate;
      return items;
    });
    const a = batcher.load(1);
    await nextTurn(); // the first batch is sent and now waits on the gate
    const b = batcher.load(2);
    await nextTurn();
    release();
    expect(await Promise.all([a, b])).toEqual([1, 2]);
    expect(batches).toEqual([[1], [2]]);
  });

  it('an Error in the answers rejects that call alone', async () => {
    const { batcher } = doubling();
    const results = await Promise.allSettled([3, -1, 5].map((n) => batcher.load(n)));
    expect(results[0]).toEqual({ status: 'fulfilled', value: 6 });
    expect(results[1]).toMatchObject({ status: 'rejected', reason: { message: 'negative: -1' } });
    expect(results[2]).toEqual({ status: 'fulfilled', value: 10 });
  });

  it('a batch that fails as a whole rejects every call with its error', async () => {
    const boom = new Error('database unreachable');
    const { batcher, batches } = doubling({}, () => boom);
    const results = await Promise.allSettled([1, 2].map((n) => batcher.load(n)));
    expect(results.map((r) => (r.status === 'rejected' ? r.reason : r.value))).toEqual([boom, boom]);
    expect(batches).toHaveLength(1);
  });

  it('a run that throws before returning a promise is a failed batch, not an escaped exception', async () => {
    const batcher = createBatcher<number, number>(((_items: readonly number[]) => {
      throw new Error('thrown at once');
    }) as never);
    await expect(batcher.load(1)).rejects.toThrow('thrown at once');
  });

  it('retryEachOnFailure: after a whole-batch failure each call runs alone, so only the bad one fails', async () => {
    // Fails any batch that holds 13 (as one invoice breaking a constraint fails the whole statement).
    const { batcher, batches } = doubling({ retryEachOnFailure: true }, (items) =>
      items.includes(13) ? new Error('13 breaks the batch') : undefined,
    );
    const results = await Promise.allSettled([1, 13, 2].map((n) => batcher.load(n)));
    expect(results[0]).toEqual({ status: 'fulfilled', value: 2 });
    expect(results[1]).toMatchObject({ status: 'rejected', reason: { message: '13 breaks the batch' } });
    expect(results[2]).toEqual({ status: 'fulfilled', value: 4 });
    expect(batches).toEqual([[1, 13, 2], [1], [13], [2]]);
  });

  it('retryEachOnFailure does not run a batch of one twice', async () => {
    const { batcher, batches } = doubling({ retryEachOnFailure: true }, () => new Error('down'));
    await expect(batcher.load(1)).rejects.toThrow('down');
    expect(batches).toEqual([[1]]);
  });

  it('a batch is sent as soon as it reaches maxSize', async () => {
    const { batcher, batches } = doubling({ maxSize: 3 });
    const answers = await Promise.all([1, 2, 3, 4, 5, 6, 7].map((n) => batcher.load(n)));
    expect(answers).toEqual([2, 4, 6, 8, 10, 12, 14]);
    expect(batches).toEqual([[1, 2, 3], [4, 5, 6], [7]]);
  });

  it('an answer list shorter than the batch rejects the calls left without an answer', async () => {
    const batcher = createBatcher<number, number>(async (items) => items.slice(0, 1));
    const results = await Promise.allSettled([1, 2].map((n) => batcher.load(n)));
    expect(results[0]).toEqual({ status: 'fulfilled', value: 1 });
    expect(results[1]).toMatchObject({ status: 'rejected', reason: { message: 'batch answered 1 of 2' } });
  });
});
