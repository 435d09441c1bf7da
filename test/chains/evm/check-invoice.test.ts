// An open checkout page checks its own invoice (SPEC section 8: on Workers nothing else scans between
// cron runs). No tick loop runs here: only the page's requests. The check is rate-limited per invoice
// and per network (the cursor's age), so a storm of page loads costs the RPC one scan.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEvmRpc, type EvmRpc } from '../../../src/chains/evm/rpc';
import { createEvmService, type EvmService } from '../../../src/chains/evm/service';
import { silentLogger } from '../../../src/lib/log';
import { createEvmTestEnv, type EvmTestEnv } from './support';

describe('EVM: an open checkout page checks its invoice', () => {
  let env: EvmTestEnv;
  const calls: Record<string, number> = {};
  const blockNumberCalls = () => calls['eth_blockNumber'] ?? 0;
  const totalCalls = () => Object.values(calls).reduce((a, b) => a + b, 0);

  /** A service of its own, as a Workers request builds one: its own watcher, lease holder and memory. */
  const requestService = (): EvmService =>
    createEvmService(env.services.evm!.settings, {
      sql: env.ctx.db.sql,
      state: env.services.state,
      logger: silentLogger,
      screening: env.services.screening,
      rpcFor: (net): EvmRpc => {
        const inner = createEvmRpc({ urls: net.rpcUrls, timeoutMs: 2000, retries: 0 });
        return {
          urls: inner.urls,
          call(method, params) {
            calls[method] = (calls[method] ?? 0) + 1;
            return inner.call(method, params);
          },
        };
      },
    });

  beforeAll(async () => {
    env = await createEvmTestEnv();
    // A first scan long ago sets the cursor; nothing has scanned since (and no loop holds the lease).
    await env.watcher().tick(new Date(Date.now() - 60_000));
  });
  afterAll(async () => {
    await env?.close();
  });

  it('is wired: GET /v1/checkout/{id} detects a deposit payment with no watcher loop running', async () => {
    expect(env.services.checkInvoice).toBeDefined();
    const inv = await env.invoice();
    await env.payNative(inv.address, inv.atomic['ETH@anvil']!);
    expect((await env.load(inv.id)).status).toBe('new');
    const res = await env.ctx.app.request(`/v1/checkout/${inv.id}`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { status: string; amountDue: string };
    expect(['processing', 'settled']).toContain(body.status);
    expect(body.amountDue).toBe('0.00');
    expect((await env.events(inv.id)).filter((e) => e.type === 'invoice.payment_received')).toHaveLength(1);
  });

  it('a refresh storm costs one scan; the next check waits for the gap; a fresh request is not locked out', async () => {
    const inv = await env.invoice();
    await env.payToken('USDC', inv.address, inv.atomic['USDC@anvil']!);
    // Past the gap since the previous test's scan.
    const t0 = new Date(Date.now() + 10_000);
    const a = requestService();
    for (const k of Object.keys(calls)) delete calls[k];
    await Promise.all(Array.from({ length: 50 }, () => a.checkInvoice(inv.id, t0)));
    for (let i = 0; i < 20; i++) await a.checkInvoice(inv.id, new Date(t0.getTime() + i * 50));
    expect(blockNumberCalls()).toBe(1);
    expect(['processing', 'settled']).toContain((await env.load(inv.id)).status);
    const afterStorm = totalCalls();

    // Another process (or Workers request) within the gap: the cursor is fresh, so no RPC at all.
    const b = requestService();
    await Promise.all(
      Array.from({ length: 20 }, () => b.checkInvoice(inv.id, new Date(t0.getTime() + 1500))),
    );
    expect(totalCalls()).toBe(afterStorm);

    // After the gap, a new request scans: the previous check released its lease rather than holding
    // the network busy for the lease's 30 s.
    const inv2 = await env.invoice();
    await env.payNative(inv2.address, inv2.atomic['ETH@anvil']!);
    const c = requestService();
    const r = await c.watchers[0]!.checkInvoice(inv2.id, new Date(t0.getTime() + 2500));
    expect(r).toMatchObject({ network: 'anvil', recorded: 1 });
    expect(r?.skipped).toBeUndefined();
    expect(blockNumberCalls()).toBe(2);
  });

  it('asks nothing for an unknown id, a malformed id, or an invoice that can no longer be paid', async () => {
    const inv = await env.invoice();
    await env.ctx.db.sql`update invoices set status = 'invalid' where id = ${inv.id}`;
    const s = requestService();
    for (const k of Object.keys(calls)) delete calls[k];
    const later = new Date(Date.now() + 3_600_000);
    await s.checkInvoice(inv.id, later);
    await s.checkInvoice('inv_doesnotexist0000000000', later);
    await s.checkInvoice("'; drop table invoices; --", later);
    expect(totalCalls()).toBe(0);
  });
});
