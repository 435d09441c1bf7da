// The sweep job on a real anvil: paid deposit addresses are flushed to the merchant's payout address
// (deploying the forwarder the first time), later deposits are swept again, router payments need no
// sweep, a compliance hold waits, and an address someone else already swept costs no transaction.
import { Contract } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DepositFactoryAbi } from '../../../contracts/generated/index';
import { invoiceKey } from '../../../src/chains/evm/deposit';
import { createEvmSweeper, type EvmSweeper } from '../../../src/chains/evm/sweep';
import { setReview } from '../../../src/invoices/state';
import { anvilAccount } from '../../helpers/anvil';
import { createEvmTestEnv, type EvmTestEnv } from './support';

describe('sweeping deposit addresses', () => {
  let env: EvmTestEnv;
  let sweeper: EvmSweeper;
  let tick: () => Promise<unknown>;
  const row = async (address: string) =>
    (
      await env.ctx.db.sql<
        {
          due_at: Date | null;
          swept_at: Date | null;
          last_txid: string | null;
          pending_txid: string | null;
        }[]
      >`select due_at, swept_at, last_txid, pending_txid from evm_sweeps where address = ${address}`
    )[0];
  const usdc = (a: string) => env.token('USDC').getFunction('balanceOf')(a) as Promise<bigint>;

  beforeAll(async () => {
    env = await createEvmTestEnv();
    sweeper = createEvmSweeper({
      sql: env.ctx.db.sql,
      net: env.net.config,
      rpc: env.net.rpc,
      key: anvilAccount(9).privateKey,
      useLease: false,
      confirmWithinMs: 5000,
    });
    const w = env.watcher({ holder: 'sweep-test' });
    tick = () => w.tick();
    await tick();
  });
  afterAll(async () => {
    await env?.close();
  });

  it('moves ETH and USDC from the deposit address to the payout address', async () => {
    const inv = await env.invoice();
    await env.payNative(inv.address, inv.atomic['ETH@anvil']! / 2n);
    await env.payToken('USDC', inv.address, inv.atomic['USDC@anvil']! / 2n);
    await tick();
    expect((await env.load(inv.id)).status).toBe('settled');
    expect((await row(inv.address))?.due_at).toBeInstanceOf(Date);
    expect(await env.provider.getCode(inv.address)).toBe('0x');

    const payoutEth = await env.provider.getBalance(env.payout);
    const payoutUsdc = await usdc(env.payout);
    const r = await sweeper.tick();
    expect(r).toMatchObject({ sent: 1, confirmed: 1, failed: 0 });
    expect(await env.provider.getBalance(inv.address)).toBe(0n);
    expect(await usdc(inv.address)).toBe(0n);
    expect((await env.provider.getBalance(env.payout)) - payoutEth).toBe(inv.atomic['ETH@anvil']! / 2n);
    expect((await usdc(env.payout)) - payoutUsdc).toBe(inv.atomic['USDC@anvil']! / 2n);
    expect(await env.provider.getCode(inv.address)).not.toBe('0x'); // the forwarder is deployed now
    const after = await row(inv.address);
    expect(after).toMatchObject({ due_at: null, pending_txid: null });
    expect(after?.swept_at).toBeInstanceOf(Date);
    const receipt = await env.provider.getTransactionReceipt(after!.last_txid!);
    expect(receipt?.from).toBe(sweeper.address); // the sweeper pays the gas, the merchant gets it all
    expect((await sweeper.tick()).sent).toBe(0);

    // A later deposit (after the forwarder exists) is credited and swept again.
    await env.payNative(inv.address, 12_345n, env.payer2);
    await tick();
    expect((await env.load(inv.id)).payments).toHaveLength(3);
    const before = await env.provider.getBalance(env.payout);
    expect((await sweeper.tick()).confirmed).toBe(1);
    expect((await env.provider.getBalance(env.payout)) - before).toBe(12_345n);
  });

  it('does not sweep router payments, which never touch the deposit address', async () => {
    const inv = await env.invoice();
    const res = await env.ctx.app.request(`/v1/checkout/${inv.id}/intents`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ option: 'ETH@anvil', payer: env.payer.address }),
    });
    const body = (await res.json()) as { to: string; data: string; value: string };
    await (
      await env.payer.sendTransaction({ to: body.to, data: body.data, value: BigInt(body.value) })
    ).wait();
    await tick();
    expect((await env.load(inv.id)).status).toBe('settled');
    expect(await row(inv.address)).toBeUndefined();
  });

  it('waits while a compliance hold is open, and sweeps once it is released', async () => {
    const inv = await env.invoice();
    await env.payToken('USDC', inv.address, inv.atomic['USDC@anvil']!);
    await tick();
    await env.ctx.db.sql.begin((tx) => setReview(tx, env.services.state, inv.id, 'held'));
    expect((await sweeper.tick()).sent).toBe(0);
    expect(await usdc(inv.address)).toBe(inv.atomic['USDC@anvil']);
    await env.ctx.db.sql.begin((tx) => setReview(tx, env.services.state, inv.id, 'released'));
    expect((await sweeper.tick()).confirmed).toBe(1);
    expect(await usdc(inv.address)).toBe(0n);
  });

  it('clears an address that someone else already swept, without a transaction', async () => {
    const inv = await env.invoice();
    await env.payNative(inv.address, inv.atomic['ETH@anvil']!);
    await tick();
    // The merchant flushes it themselves: deployAndFlush is permissionless.
    const factory = new Contract(env.deployment.addresses.depositFactory, DepositFactoryAbi, env.payer2);
    await (await factory.getFunction('deployAndFlush')(invoiceKey(inv.id), env.payout, [])).wait();
    const r = await sweeper.tick();
    expect(r).toMatchObject({ sent: 0, empty: 1 });
    expect((await row(inv.address))?.due_at).toBeNull();
  });

  it('runs from the service tick too (watcher, then sweep)', async () => {
    const inv = await env.invoice();
    await env.payToken('USDT', inv.address, inv.atomic['USDT@anvil']!);
    const first = await env.services.evm!.tick();
    expect(first.watchers[0]).toMatchObject({ recorded: 1 });
    expect(first.sweeps[0]).toMatchObject({ sent: 1 });
    const second = await env.services.evm!.tick();
    expect(second.sweeps[0]).toMatchObject({ confirmed: 1 });
    expect(await env.token('USDT').getFunction('balanceOf')(inv.address)).toBe(0n);
  });
});
