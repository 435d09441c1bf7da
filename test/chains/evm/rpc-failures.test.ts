// RPC errors and timeouts between the watcher and the node (a proxy in front of anvil that fails or
// hangs): calls are retried and fall back to the next URL; a tick that cannot finish writes nothing
// half-done, and the next one credits the payment exactly once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEvmRpc, EvmRpcUnavailableError } from '../../../src/chains/evm/rpc';
import { createEvmService } from '../../../src/chains/evm/service';
import { silentLogger } from '../../../src/lib/log';
import { type RpcProxy, startRpcProxy } from './proxy';
import { createEvmTestEnv, type EvmTestEnv } from './support';

describe('EVM watcher with a failing node', () => {
  let env: EvmTestEnv;
  let proxy: RpcProxy;
  const cursor = async () =>
    (
      await env.ctx.db.sql<{ cursor: unknown }[]>`select cursor from chain_cursors where name = 'evm:anvil'`
    )[0]?.cursor;
  const watcherVia = (urls: string[], timeoutMs = 1000, retries = 2) =>
    env.watcher({
      holder: `via-${urls.length}`,
      rpc: createEvmRpc({ urls, timeoutMs, retries, backoffMs: 5 }),
    });

  beforeAll(async () => {
    env = await createEvmTestEnv();
    proxy = await startRpcProxy(env.anvil.rpcUrl);
    await env.watcher().tick();
  });
  afterAll(async () => {
    await proxy?.close();
    await env?.close();
  });

  it('retries failed calls (every other request answers 503) and credits once', async () => {
    const w = watcherVia([proxy.url], 1000, 3);
    const inv = await env.invoice();
    await env.payNative(inv.address, inv.atomic['ETH@anvil']!);
    proxy.mode = 'flaky';
    proxy.seen.length = 0;
    try {
      const r = await w.tick();
      expect(r.recorded).toBe(1);
    } finally {
      proxy.mode = 'pass';
    }
    expect(proxy.seen.length).toBeGreaterThan(4);
    const i = await env.load(inv.id);
    expect(i.status).toBe('settled');
    expect(i.payments).toHaveLength(1);
    expect((await w.tick()).recorded).toBe(0);
  });

  it('falls back to the next URL when the first hangs, and stops asking it for a while', async () => {
    const w = watcherVia([proxy.url, env.anvil.rpcUrl], 300, 1);
    const inv = await env.invoice();
    await env.payToken('USDC', inv.address, inv.atomic['USDC@anvil']!);
    proxy.mode = 'hang';
    proxy.seen.length = 0;
    try {
      const r = await w.tick();
      expect(r.recorded).toBe(1);
      await w.tick();
    } finally {
      proxy.mode = 'pass';
    }
    // One timed-out call, then the hung node is skipped while it cools down.
    expect(proxy.seen).toHaveLength(1);
    expect((await env.load(inv.id)).status).toBe('settled');
  });

  it('writes nothing when the node fails mid-tick, then credits once when it is back', async () => {
    const w = watcherVia([proxy.url], 1000, 1);
    await w.tick();
    const inv = await env.invoice();
    await env.payToken('USDT', inv.address, inv.atomic['USDT@anvil']!);
    const before = await cursor();
    for (const method of ['eth_getLogs', 'eth_getBlockByNumber', 'eth_blockNumber']) {
      proxy.failMethods = new Set([method]);
      await expect(w.tick(), method).rejects.toBeInstanceOf(EvmRpcUnavailableError);
      expect(await cursor()).toEqual(before);
      expect((await env.load(inv.id)).payments).toHaveLength(0);
    }
    for (const mode of ['rpc-error', 'garbage'] as const) {
      proxy.failMethods = new Set();
      proxy.mode = mode;
      await expect(w.tick(), mode).rejects.toBeInstanceOf(EvmRpcUnavailableError);
      expect(await cursor()).toEqual(before);
    }
    proxy.mode = 'pass';
    const r = await w.tick();
    expect(r.recorded).toBe(1);
    const i = await env.load(inv.id);
    expect(i.status).toBe('settled');
    expect((await env.events(inv.id)).filter((e) => e.type === 'invoice.payment_received')).toHaveLength(1);
  });

  it('reports a network that is down in the service tick without throwing', async () => {
    const evm = createEvmService(env.services.evm!.settings, {
      sql: env.ctx.db.sql,
      state: env.services.state,
      logger: silentLogger,
      rpcFor: () => createEvmRpc({ urls: [proxy.url], timeoutMs: 500, retries: 0 }),
    });
    proxy.mode = 'fail';
    try {
      const report = await evm.tick();
      expect(report.watchers).toHaveLength(1);
      expect(report.watchers[0]).toMatchObject({
        network: 'anvil',
        error: expect.stringContaining('unavailable'),
      });
      expect(report.sweeps[0]).toMatchObject({ network: 'anvil' });
    } finally {
      proxy.mode = 'pass';
    }
  });
});
