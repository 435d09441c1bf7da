// Shared set-up of the EVM tests: a real anvil with the project's contracts (the router trusting a
// fresh gateway signer), a fresh database, services configured for the `anvil` network, a merchant
// whose payout address starts empty, and small helpers to pay and to read invoices and events.
import { Contract, type JsonRpcProvider, parseUnits, Wallet } from 'ethers';
import { type Deployment, deployAll } from '../../../contracts/deploy';
import { TestTokenAbi } from '../../../contracts/generated/index';
import type { EvmNetwork } from '../../../src/chains/evm/service';
import { createEvmWatcher, type EvmWatcher, type EvmWatcherOptions } from '../../../src/chains/evm/watcher';
import { createInvoice } from '../../../src/invoices/create';
import { type Invoice, loadInvoice, type SpeedPolicy } from '../../../src/invoices/repository';
import type { Services } from '../../../src/services';
import { type Anvil, anvilAccount, startAnvil } from '../../helpers/anvil';
import { createTestContext, createTestMerchant, type TestContext } from '../../helpers/services';

export const ALL_OPTIONS = ['ETH@anvil', 'USDC@anvil', 'USDT@anvil'] as const;

export interface EvmInvoice {
  readonly id: string;
  /** The deposit address (shared by the invoice's options). */
  readonly address: string;
  readonly amountTiyn: bigint;
  /** Quoted amount per option (atomic units). */
  readonly atomic: Readonly<Record<string, bigint>>;
}

export interface EvmTestEnv {
  readonly anvil: Anvil;
  readonly provider: JsonRpcProvider;
  readonly deployment: Deployment;
  readonly ctx: TestContext;
  readonly services: Services;
  readonly merchantId: string;
  readonly payout: string;
  readonly payer: Wallet;
  readonly payer2: Wallet;
  readonly signer: Wallet;
  readonly net: EvmNetwork;
  readonly env: Record<string, string>;
  invoice(
    amount?: string,
    opts?: { options?: readonly string[]; speed?: SpeedPolicy; expiresInMinutes?: number },
  ): Promise<EvmInvoice>;
  load(id: string): Promise<Invoice>;
  events(invoiceId: string): Promise<{ type: string; data: Record<string, unknown> }[]>;
  watcher(opts?: Partial<EvmWatcherOptions>): EvmWatcher;
  token(asset: 'USDC' | 'USDT', wallet?: Wallet): Contract;
  payNative(to: string, value: bigint, from?: Wallet): Promise<string>;
  payToken(asset: 'USDC' | 'USDT', to: string, amount: bigint, from?: Wallet): Promise<string>;
  close(): Promise<void>;
}

export interface EvmTestEnvOptions {
  readonly blockTime?: number;
  readonly extraEnv?: Record<string, string>;
  readonly overrides?: Parameters<typeof createTestContext>[1];
}

export async function createEvmTestEnv(opts: EvmTestEnvOptions = {}): Promise<EvmTestEnv> {
  const anvil = await startAnvil(opts.blockTime ? { blockTime: opts.blockTime } : {});
  const provider = anvil.provider;
  const deployer = anvilAccount(0, provider);
  const signer = new Wallet(Wallet.createRandom().privateKey);
  const deployment = await deployAll(deployer, { gatewaySigner: signer.address, routerUsesOracle: false });
  const payer = anvilAccount(1, provider);
  const payer2 = anvilAccount(2, provider);
  let nonce = await deployer.getNonce('pending');
  const mints = [];
  for (const t of [deployment.usdc, deployment.usdt]) {
    for (const p of [payer, payer2]) {
      mints.push(await t.getFunction('mint')(p.address, parseUnits('1000000', 6), { nonce: nonce++ }));
    }
  }
  await Promise.all(mints.map((m) => m.wait()));

  const a = deployment.addresses;
  const env = {
    ANVIL_RPC_URLS: anvil.rpcUrl,
    ANVIL_ROUTER_ADDRESS: a.router,
    ANVIL_DEPOSIT_FACTORY_ADDRESS: a.depositFactory,
    ANVIL_USDC_ADDRESS: a.usdc,
    ANVIL_USDT_ADDRESS: a.usdt,
    GATEWAY_SIGNER_KEY: signer.privateKey,
    EVM_SWEEPER_KEY: anvilAccount(9).privateKey,
    EVM_RPC_TIMEOUT_MS: '2000',
    ...opts.extraEnv,
  };
  const ctx = await createTestContext(env, opts.overrides ?? {});
  const services = ctx.services;
  const payout = Wallet.createRandom().address;
  const { merchant } = await createTestMerchant(ctx, { evmPayout: payout });
  const sql = ctx.db.sql;
  const net = services.evm!.networks.get('anvil')!;

  const token = (asset: 'USDC' | 'USDT', wallet: Wallet = payer) =>
    new Contract(asset === 'USDC' ? a.usdc : a.usdt, TestTokenAbi, wallet);

  return {
    anvil,
    provider,
    deployment,
    ctx,
    services,
    merchantId: merchant.id,
    payout,
    payer,
    payer2,
    signer,
    net,
    env,
    async invoice(amount = '15000.00', o = {}) {
      await sql`update merchants set speed_policy = ${o.speed ?? 'medium'} where id = ${merchant.id}`;
      const inv = await createInvoice(services, merchant.id, {
        amount,
        currency: 'KZT',
        options: [...(o.options ?? ALL_OPTIONS)],
        ...(o.expiresInMinutes ? { expiresInMinutes: o.expiresInMinutes } : {}),
      });
      return {
        id: inv.id,
        address: inv.options[0]!.address,
        amountTiyn: inv.amountTiyn,
        atomic: Object.fromEntries(inv.options.map((x) => [x.option, x.amountAtomic])),
      };
    },
    async load(id) {
      return (await loadInvoice(sql, id))!;
    },
    async events(invoiceId) {
      const rows = await sql<{ type: string; payload: { data: Record<string, unknown> } }[]>`
        select type, payload from outbox where invoice_id = ${invoiceId} order by id`;
      return rows.map((r) => ({ type: r.type, data: r.payload.data }));
    },
    watcher(w = {}) {
      return createEvmWatcher({
        sql,
        state: services.state,
        net: net.config,
        rpc: net.rpc,
        screening: services.screening,
        useLease: false,
        initialLookback: 1000,
        ...w,
      });
    },
    token,
    async payNative(to, value, from = payer) {
      const tx = await from.sendTransaction({ to, value });
      const r = await tx.wait();
      return r!.hash;
    },
    async payToken(asset, to, amount, from = payer) {
      const tx = await token(asset, from).getFunction('transfer')(to, amount);
      const r = await tx.wait();
      return r!.hash as string;
    },
    async close() {
      await ctx.close();
      await anvil.stop();
    },
  };
}

/** Runs the watcher's tick (the real one, with a lease) of the configured service. */
export async function serviceTick(env: EvmTestEnv, now = new Date()) {
  return env.services.evm!.tick(now);
}
