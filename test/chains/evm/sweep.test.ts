// The sweep job on a real anvil: paid deposit addresses are flushed to the merchant's payout address
// (deploying the forwarder the first time), later deposits are swept again, router payments need no
// sweep, a compliance hold waits (an AML hold until it is cleared; a rejection for good), nobody but
// the gateway can flush, and an address already flushed costs no transaction.
import { Contract, Interface } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signFlush } from '../../../contracts/flush-auth';
import { DepositFactoryAbi } from '../../../contracts/generated/index';
import { decide } from '../../../src/aml/cases';
import { reporterFromConfig } from '../../../src/aml/wiring';
import { invoiceKey } from '../../../src/chains/evm/deposit';
import { createEvmSweeper, type EvmSweeper } from '../../../src/chains/evm/sweep';
import { setReview } from '../../../src/invoices/state';
import { newRegulator, operatorList } from '../../aml/support';
import { anvilAccount } from '../../helpers/anvil';
import { createEvmTestEnv, type EvmTestEnv } from './support';

const factoryIface = new Interface(DepositFactoryAbi);

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
      signerKey: env.signer.privateKey,
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

  it('clears an address that was already flushed, without a transaction', async () => {
    const inv = await env.invoice();
    await env.payNative(inv.address, inv.atomic['ETH@anvil']!);
    await tick();
    // Someone relays a flush the gateway signer authorized (anyone may submit one).
    const factory = new Contract(env.deployment.addresses.depositFactory, DepositFactoryAbi, env.payer2);
    const deadline = BigInt(Math.floor(Date.now() / 1000) + 600);
    const auth = { invoiceId: invoiceKey(inv.id), payout: env.payout, tokens: [], nonce: 0n, deadline };
    const sig = await signFlush(env.signer, env.net.config.chainId, await factory.getAddress(), auth);
    await (await factory.getFunction('deployAndFlush')(auth.invoiceId, env.payout, [], deadline, sig)).wait();
    const r = await sweeper.tick();
    expect(r).toMatchObject({ sent: 0, empty: 1 });
    expect((await row(inv.address))?.due_at).toBeNull();
  });

  it('lets no third party flush, and no authorization be used twice', async () => {
    const inv = await env.invoice();
    await env.payNative(inv.address, 1_000n);
    await tick();
    const factory = new Contract(env.deployment.addresses.depositFactory, DepositFactoryAbi, env.payer2);
    const deadline = BigInt(Math.floor(Date.now() / 1000) + 600);
    const auth = { invoiceId: invoiceKey(inv.id), payout: env.payout, tokens: [], nonce: 0n, deadline };
    // Signed by the payer (not the gateway signer): refused on chain.
    const own = await signFlush(env.payer2, env.net.config.chainId, await factory.getAddress(), auth);
    await expect(
      factory.getFunction('deployAndFlush')(auth.invoiceId, env.payout, [], deadline, own),
    ).rejects.toThrow();
    expect(await env.provider.getBalance(inv.address)).toBe(1_000n);

    // The gateway's own sweep transaction, replayed by a third party after a new deposit: refused.
    expect((await sweeper.tick()).confirmed).toBe(1);
    const sweep = await env.provider.getTransaction((await row(inv.address))!.last_txid!);
    await env.payNative(inv.address, 2_000n);
    await expect(env.payer2.sendTransaction({ to: sweep!.to!, data: sweep!.data })).rejects.toThrow(
      /UnauthorizedSigner|execution reverted/,
    );
    expect(await env.provider.getBalance(inv.address)).toBe(2_000n);
    expect(factoryIface.parseTransaction({ data: sweep!.data })?.name).toBe('deployAndFlush');
    // The gateway sweeps it with a fresh authorization.
    await tick();
    expect((await sweeper.tick()).confirmed).toBe(1);
    expect(await env.provider.getBalance(inv.address)).toBe(0n);
  });

  it('keeps a payment held by screening until it is cleared, and a rejected one for good', async () => {
    const listed = anvilAccount(3, env.provider);
    await operatorList(env.ctx, `address,asset,name,reason\n${listed.address},,Listed payer,test listing\n`);
    const held = await env.invoice();
    const rejected = await env.invoice();
    await env.payNative(held.address, held.atomic['ETH@anvil']!, listed);
    await env.payNative(rejected.address, rejected.atomic['ETH@anvil']!, listed);
    await tick();
    const cases = await env.ctx.db.sql<{ id: string; invoice_id: string }[]>`
      select id, invoice_id from aml_cases where invoice_id in (${held.id}, ${rejected.id}) and hold`;
    expect(cases).toHaveLength(2);
    const caseOf = (id: string) => cases.find((c) => c.invoice_id === id)!.id;

    const first = await sweeper.tick();
    expect(first).toMatchObject({ sent: 0 });
    expect(await env.provider.getBalance(held.address)).toBe(held.atomic['ETH@anvil']);

    const deps = { state: env.services.state, reporter: reporterFromConfig(env.ctx.config) };
    const a = await newRegulator(env.ctx, 'Aigerim Sadykova', 'a.sadykova.sweep@afm.test');
    const b = await newRegulator(env.ctx, 'Daniyar Abenov', 'd.abenov.sweep@afm.test');
    const who = (r: typeof a) => ({ id: r.regulator.id, name: r.regulator.name, email: r.regulator.email });
    await decide(env.ctx.db.sql, deps, {
      caseId: caseOf(rejected.id),
      decision: 'reject',
      reason: 'sanctioned sender',
      regulator: who(a),
    });
    for (const r of [a, b]) {
      await decide(env.ctx.db.sql, deps, {
        caseId: caseOf(held.id),
        decision: 'clear',
        reason: 'listing is a test',
        regulator: who(r),
      });
    }
    const payoutBefore = await env.provider.getBalance(env.payout);
    expect(await sweeper.tick()).toMatchObject({ sent: 1, confirmed: 1 });
    expect(await env.provider.getBalance(held.address)).toBe(0n);
    expect((await env.provider.getBalance(env.payout)) - payoutBefore).toBe(held.atomic['ETH@anvil']);

    // The rejected deposit stays, whatever is paid to it later or however often the job runs.
    await env.payNative(rejected.address, 5_000n);
    await tick();
    expect((await sweeper.tick()).sent).toBe(0);
    expect((await sweeper.tick(new Date(Date.now() + 86_400_000))).sent).toBe(0);
    expect(await env.provider.getBalance(rejected.address)).toBe(rejected.atomic['ETH@anvil']! + 5_000n);
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
