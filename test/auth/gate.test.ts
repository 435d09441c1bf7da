// The hashing gate on its own: a bound on what runs at once, a short queue, refusal beyond it.
import { describe, expect, it } from 'vitest';
import { createHashGate, HashingBusyError } from '../../src/auth/gate';

describe('createHashGate', () => {
  it('runs at most `concurrency` at once, queues `queue` more, and refuses the rest with Retry-After', async () => {
    const gate = createHashGate({ concurrency: 2, queue: 2 });
    let running = 0;
    let peak = 0;
    let open!: () => void;
    const held = new Promise<void>((r) => {
      open = r;
    });
    const job = async () => {
      running++;
      peak = Math.max(peak, running);
      await held;
      running--;
      return 'done';
    };
    const results = Array.from({ length: 6 }, () => gate.run(job).catch((e: unknown) => e));
    await new Promise((r) => setTimeout(r, 10));
    expect(gate.stats()).toEqual({ active: 2, peak: 2, queued: 2, refused: 2 });
    open();
    const out = await Promise.all(results);
    expect(out.filter((x) => x === 'done')).toHaveLength(4);
    const refused = out.filter((x): x is HashingBusyError => x instanceof HashingBusyError);
    expect(refused).toHaveLength(2);
    expect(refused[0]!.status).toBe(503);
    expect(Number(refused[0]!.headers!['Retry-After'])).toBeGreaterThanOrEqual(1);
    expect(peak).toBe(2);
    expect(gate.stats()).toMatchObject({ active: 0, queued: 0 });
  });

  it('a finished job hands its slot to the queue: a newcomer cannot slip past the bound', async () => {
    const gate = createHashGate({ concurrency: 1, queue: 5 });
    let running = 0;
    let peak = 0;
    const job = async () => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 1));
      running--;
    };
    await Promise.all(Array.from({ length: 6 }, () => gate.run(job)));
    expect(peak).toBe(1);
  });
});
