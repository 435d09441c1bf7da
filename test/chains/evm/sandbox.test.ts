// The sandbox's EVM side: `npm run sandbox` starts anvil, deploys, funds the payers and records the
// addresses; the gateway reads them (withSandboxEvm); `npm run sandbox:pay` pays by deposit and
// through the router (permit and approve); a restart on the same data directory reuses the chain.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Contract, Wallet } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockSanctionsOracleAbi, TestTokenAbi } from '../../../contracts/generated/index';
import { PAYER_INDEXES, type SandboxEvm, startSandboxEvm } from '../../../sandbox/evm';
import { freePort } from '../../../sandbox/litecoin';
import { parsePayEvmArgs, payEvm } from '../../../sandbox/pay-evm';
import { evmVar } from '../../../src/chains/evm/env';
import { readSandboxEvm, SIGNER_KEY_FILE, withSandboxEvm } from '../../../src/chains/evm/sandbox-file';
import { loadConfig, oracleVar } from '../../../src/config';
import { createInvoice } from '../../../src/invoices/create';
import { loadInvoice } from '../../../src/invoices/repository';
import { anvilAccount } from '../../helpers/anvil';
import { createTestContext, createTestMerchant, type TestContext } from '../../helpers/services';

describe('sandbox EVM chain', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'alatau-sandbox-evm-'));
  let port: number;
  let sandbox: SandboxEvm;
  let ctx: TestContext;
  let merchantId: string;
  const env: Record<string, string> = {};
  const lines: string[] = [];
  const gateway = 'http://gateway.test';
  const fetchImpl = ((input: RequestInfo | URL, init?: RequestInit) =>
    ctx.app.request(String(input), init)) as typeof fetch;

  beforeAll(async () => {
    // Once seen (1 CI run in 5, PostgreSQL pass) to hang until the hook timed out: say where it is.
    let step = 'starting anvil and preparing the chain';
    const slow = setTimeout(
      () => console.warn(`[slow] sandbox EVM set-up still ${step} after 60 s; its log: ${lines.join(' | ')}`),
      60_000,
    );
    port = await freePort();
    sandbox = await startSandboxEvm({ dataDir, port, blockTime: null, log: (l) => lines.push(l) });
    step = 'creating the test context';
    // What `npm start` would read: sandbox.json and the generated signer key under DATA_DIR.
    const config = withSandboxEvm(loadConfig({ NETWORK_MODE: 'sandbox', DATA_DIR: dataDir }));
    for (const s of [
      'RPC_URLS',
      'ROUTER_ADDRESS',
      'DEPOSIT_FACTORY_ADDRESS',
      'USDC_ADDRESS',
      'USDT_ADDRESS',
    ] as const) {
      env[evmVar('anvil', s)] = (config as unknown as Record<string, string>)[evmVar('anvil', s)]!;
    }
    env['GATEWAY_SIGNER_KEY'] = config.GATEWAY_SIGNER_KEY!;
    env['EVM_SWEEPER_KEY'] = config.EVM_SWEEPER_KEY!;
    ctx = await createTestContext(env);
    step = 'creating the merchant';
    merchantId = (await createTestMerchant(ctx, { evmPayout: Wallet.createRandom().address })).merchant.id;
    step = 'running the first EVM watcher tick';
    await ctx.services.evm!.tick();
    clearTimeout(slow);
  });
  afterAll(async () => {
    await ctx?.close();
    await sandbox?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const invoice = async () =>
    (
      await createInvoice(ctx.services, merchantId, {
        amount: '15000.00',
        currency: 'KZT',
        options: ['ETH@anvil', 'USDC@anvil', 'USDT@anvil'],
      })
    ).id;
  const settle = async (id: string) => {
    await ctx.services.evm!.tick();
    return (await loadInvoice(ctx.db.sql, id))!;
  };

  it('records the deployment, the signer and funded payers where the gateway reads them', async () => {
    const rec = readSandboxEvm(dataDir)!;
    expect(rec).toMatchObject({ chainId: 31337, rpcUrl: `http://127.0.0.1:${port}` });
    expect(rec.payers).toEqual(PAYER_INDEXES.map((i) => anvilAccount(i).address));
    const key = readFileSync(join(dataDir, SIGNER_KEY_FILE), 'utf8').trim();
    expect(new Wallet(key).address).toBe(rec.gatewaySigner);
    expect(statSync(join(dataDir, SIGNER_KEY_FILE)).mode & 0o077).toBe(0);
    const usdc = new Contract(rec.usdc, TestTokenAbi, sandbox.anvil!.provider);
    expect(await usdc.getFunction('balanceOf')(rec.payers[0])).toBe(1_000_000_000_000n);
    expect(ctx.services.evm!.signer!.address).toBe(rec.gatewaySigner);
  });

  it('pays by deposit, in part and then the rest', async () => {
    const id = await invoice();
    const part = await payEvm({
      invoiceId: id,
      option: 'ETH@anvil',
      amount: '0.001',
      gatewayUrl: gateway,
      dataDir,
      fetchImpl,
    });
    expect(part.amountAtomic).toBe(1_000_000_000_000_000n);
    expect((await settle(id)).additionalStatus).toBe('paid_partial');
    const rest = await payEvm({
      invoiceId: id,
      option: 'USDC@anvil',
      gatewayUrl: gateway,
      dataDir,
      fetchImpl,
      payer: 2,
    });
    expect(rest.via).toBe('deposit');
    expect((await settle(id)).status).toBe('settled');
  });

  it('pays through the router: ETH, USDC with a permit, USDT after an approve', async () => {
    for (const [option, approve] of [
      ['ETH@anvil', false],
      ['USDC@anvil', false],
      ['USDT@anvil', true],
    ] as const) {
      const id = await invoice();
      const r = await payEvm({
        invoiceId: id,
        option,
        via: 'router',
        approve,
        gatewayUrl: gateway,
        dataDir,
        fetchImpl,
      });
      expect(r.to).toBe(readSandboxEvm(dataDir)!.router);
      expect(Boolean(r.approvalTxid)).toBe(approve);
      const inv = await settle(id);
      expect(inv.status, option).toBe('settled');
      expect(inv.payments[0]!.txid).toBe(r.txid);
    }
  });

  it('parses the sandbox:pay arguments', () => {
    expect(
      parsePayEvmArgs(['inv_1', '--option', 'USDC@anvil', '--via', 'router', '--payer', '3', '--approve']),
    ).toEqual({
      invoiceId: 'inv_1',
      option: 'USDC@anvil',
      via: 'router',
      payer: 3,
      approve: true,
    });
    expect(() => parsePayEvmArgs(['inv_1'])).toThrow(/usage/);
    expect(() => parsePayEvmArgs(['inv_1', '--option', 'ETH@anvil', '--via', 'mail'])).toThrow(
      /deposit or router/,
    );
    expect(() => parsePayEvmArgs(['inv_1', '--option', 'ETH@anvil', '--payer', '0'])).toThrow(/--payer/);
  });

  it("gives the gateway the sandbox's mock sanctions oracle, which then screens payers", async () => {
    const rec = readSandboxEvm(dataDir)!;
    const config = withSandboxEvm(loadConfig({ NETWORK_MODE: 'sandbox', DATA_DIR: dataDir }));
    const value = (config as unknown as Record<string, string>)[oracleVar('anvil')];
    expect(value).toBe(`${rec.sanctionsOracle},${rec.rpcUrl}`);
    // The environment wins over sandbox.json.
    const own = `0x${'11'.repeat(20)},http://oracle.test`;
    const kept = withSandboxEvm(
      loadConfig({ NETWORK_MODE: 'sandbox', DATA_DIR: dataDir, [oracleVar('anvil')]: own }),
    );
    expect((kept as unknown as Record<string, string>)[oracleVar('anvil')]).toBe(own);

    // A gateway with that setting refuses to sign an intent for a payer the oracle lists.
    const gw = await createTestContext({ ...env, [oracleVar('anvil')]: value! });
    try {
      const m = (await createTestMerchant(gw, { evmPayout: Wallet.createRandom().address })).merchant.id;
      const inv = await createInvoice(gw.services, m, {
        amount: '15000.00',
        currency: 'KZT',
        options: ['ETH@anvil'],
      });
      const listed = Wallet.createRandom().address;
      const clean = Wallet.createRandom().address;
      const oracle = new Contract(
        rec.sanctionsOracle,
        MockSanctionsOracleAbi,
        anvilAccount(0, sandbox.anvil!.provider),
      );
      await (await oracle.getFunction('setSanctioned')(listed, true)).wait();
      const intent = (payer: string) =>
        gw.app.request(`/v1/checkout/${inv.id}/intents`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ option: 'ETH@anvil', payer }),
        });
      const refused = await intent(listed);
      expect(refused.status).toBe(403);
      expect(await refused.json()).toMatchObject({ code: 'payer_rejected' });
      expect((await intent(clean)).status).toBe(200);
      // Without the setting the same payer is not refused: the oracle above is what decided.
      const without = await ctx.app.request(`/v1/checkout/${await invoice()}/intents`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ option: 'ETH@anvil', payer: listed }),
      });
      expect(without.status).toBe(200);
    } finally {
      await gw.close();
    }
  });

  it('reuses the chain and the contracts after a restart on the same data directory', async () => {
    const before = readSandboxEvm(dataDir)!;
    await sandbox.stop();
    lines.length = 0;
    sandbox = await startSandboxEvm({ dataDir, port, blockTime: null, log: (l) => lines.push(l) });
    const after = readSandboxEvm(dataDir)!;
    expect(after).toEqual(before);
    expect(lines.join('\n')).toMatch(/already deployed/);
    expect(lines.join('\n')).not.toMatch(/minted/);
  });
});
