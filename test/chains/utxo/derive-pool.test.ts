// Address derivation on a worker thread (src/chains/utxo/derive-pool.ts): the same addresses as the
// reference, the event loop free while they are derived, nothing lost when a thread dies, and the
// same errors as inline derivation.
import { afterEach, describe, expect, it } from 'vitest';
import {
  type AddressJob,
  deriveAddress,
  deriveAddresses,
  deriveInline,
  InvalidAccountKeyError,
} from '../../../src/chains/utxo/derive';
import { type DerivationThreads, startDerivationThreads } from '../../../src/chains/utxo/derive-pool';
import { silentLogger } from '../../../src/lib/log';
import { createTestContext, createTestMerchant, jsonRequest, randomAccountKey } from '../../helpers/services';
import { refAddress, VPUB, withVersion, ZPUB } from './reference';

const XPUB84 = withVersion(ZPUB, 0x0488b21e);

const jobsOf = (n: number, from = 0): AddressJob[] =>
  Array.from({ length: n }, (_, i) => ({ network: 'bitcoin' as const, keyText: ZPUB, index: from + i }));

let pool: DerivationThreads | undefined;
afterEach(async () => {
  await pool?.close();
  pool = undefined;
});

/** How many times the event loop got a turn between starting `work` and its end. */
async function turnsDuring(work: () => Promise<unknown>): Promise<number> {
  let turns = 0;
  let done = false;
  const spin = () => {
    if (done) return;
    turns++;
    setImmediate(spin);
  };
  setImmediate(spin);
  await work();
  done = true;
  return turns;
}

describe('startDerivationThreads', () => {
  it('derives what the reference derives, for several keys and networks in one call', async () => {
    pool = startDerivationThreads(1);
    const jobs: AddressJob[] = [
      ...jobsOf(5, 2 ** 31 - 5),
      { network: 'bitcoin-testnet4', keyText: VPUB, index: 7 },
      { network: 'litecoin-testnet', keyText: VPUB, index: 0 },
      { network: 'bitcoin', keyText: ZPUB, index: 0 },
    ];
    const got = await pool.derive(jobs);
    expect(got).toEqual(deriveAddresses(jobs));
    expect(got[0]!.address).toBe(refAddress('bitcoin', XPUB84, 'p2wpkh', 2 ** 31 - 5));
    expect(got.at(-1)!.address).toBe('bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu');
    expect(await pool.derive([])).toEqual([]);
  });

  it('answers concurrent calls each with its own addresses, across threads', async () => {
    pool = startDerivationThreads(2);
    const calls = Array.from({ length: 8 }, (_, k) => jobsOf(3, k * 10));
    const got = await Promise.all(calls.map((jobs) => pool!.derive(jobs)));
    expect(got).toEqual(calls.map((jobs) => deriveAddresses(jobs)));
  });

  it('leaves the event loop free while it derives; inline derivation does not', async () => {
    pool = startDerivationThreads(1);
    await pool.derive(jobsOf(1)); // the thread has started and built its table
    const jobs = jobsOf(300, 1000);
    expect(await turnsDuring(() => pool!.derive(jobs))).toBeGreaterThan(10);
    expect(await turnsDuring(() => deriveInline(jobs))).toBeLessThanOrEqual(1);
  });

  it('refuses a bad key or index with the error inline derivation gives', async () => {
    pool = startDerivationThreads(1);
    const bad = [{ network: 'bitcoin' as const, keyText: `${ZPUB.slice(0, -1)}x`, index: 0 }];
    const inline = await deriveInline(bad).catch((e: unknown) => e);
    expect(inline).toBeInstanceOf(InvalidAccountKeyError);
    const threaded = await pool.derive(bad).catch((e: unknown) => e);
    expect(threaded).toBeInstanceOf(InvalidAccountKeyError);
    expect((threaded as Error).message).toBe((inline as Error).message);
    await expect(pool.derive([{ network: 'bitcoin', keyText: ZPUB, index: -1 }])).rejects.toThrow(/index/);
    // The thread is still there for the next call.
    expect(await pool.derive(jobsOf(2))).toEqual(deriveAddresses(jobsOf(2)));
    expect(pool.workers).toHaveLength(1);
  });

  it('loses nothing when a thread dies mid-call, and starts another', async () => {
    const warnings: Record<string, unknown>[] = [];
    const logger = {
      ...silentLogger,
      warn: (_msg: string, ctx?: Record<string, unknown>) => warnings.push(ctx ?? {}),
    };
    pool = startDerivationThreads(1, logger);
    await pool.derive(jobsOf(1));
    const [first] = pool.workers;
    // Long enough (~0.2 s) that the thread is still at it when it is stopped.
    const jobs = jobsOf(2000, 5000);
    const pending = pool.derive(jobs);
    await first!.terminate();
    expect(await pending).toEqual(deriveAddresses(jobs));
    // The thread was stopped with the call pending, which was then derived here.
    expect(warnings).toEqual([expect.objectContaining({ pending: 1 })]);
    expect(pool.workers).toHaveLength(1);
    expect(pool.workers[0]).not.toBe(first);
    expect(await pool.derive(jobsOf(3, 9))).toEqual(deriveAddresses(jobsOf(3, 9)));
  });

  it('derives inline after close, and with no threads at all', async () => {
    pool = startDerivationThreads(1);
    await pool.close();
    expect(pool.workers).toHaveLength(0);
    expect(await pool.derive(jobsOf(2))).toEqual(deriveAddresses(jobsOf(2)));
    const none = startDerivationThreads(0);
    expect(none.workers).toHaveLength(0);
    expect(await none.derive(jobsOf(2, 40))).toEqual(deriveAddresses(jobsOf(2, 40)));
  });
});

describe('the gateway with a derivation thread', () => {
  it('gives concurrent invoices the addresses of their own keys at consecutive indexes', async () => {
    pool = startDerivationThreads(1);
    const ctx = await createTestContext({}, { deriveAddresses: pool.derive });
    try {
      const btc = randomAccountKey();
      const ltc = randomAccountKey();
      const { apiKey } = await createTestMerchant(ctx, {
        xpubs: { 'bitcoin-regtest': btc, 'litecoin-regtest': ltc },
      });
      const responses = await Promise.all(
        Array.from({ length: 6 }, () =>
          ctx.app.request(
            '/v1/invoices',
            jsonRequest(apiKey.apiKey, { amount: '15000.00', currency: 'KZT' }),
          ),
        ),
      );
      const invoices = await Promise.all(
        responses.map(async (r) => {
          expect(r.status).toBe(201);
          return (await r.json()) as {
            paymentOptions: { network: string; address: string; derivationIndex: number }[];
          };
        }),
      );
      const seen = { 'bitcoin-regtest': [] as number[], 'litecoin-regtest': [] as number[] };
      for (const inv of invoices) {
        for (const o of inv.paymentOptions) {
          const network = o.network as keyof typeof seen;
          const key = network === 'bitcoin-regtest' ? btc : ltc;
          expect(o.address).toBe(deriveAddress(network, key, o.derivationIndex).address);
          seen[network].push(o.derivationIndex);
        }
      }
      for (const indexes of Object.values(seen))
        expect(indexes.sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5]);
    } finally {
      await ctx.close();
    }
  });
});
