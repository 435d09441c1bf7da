// The pure parts of the EVM side: EIP-681 URIs, the invoice key and deposit address, the settings read
// from the environment, the adapter's refusals, and matching blocks and logs against watched invoices.
import { AbiCoder, getAddress, keccak256, toUtf8Bytes, Wallet, ZeroAddress } from 'ethers';
import { describe, expect, it } from 'vitest';
import { computeDepositAddress } from '../../../contracts/deposit-address';
import { createEvmAdapter } from '../../../src/chains/evm/adapter';
import { evmSettingsFromConfig, OFFICIAL_TOKENS } from '../../../src/chains/evm/config';
import { depositAddressFor, invoiceKey } from '../../../src/chains/evm/deposit';
import { routerInterface } from '../../../src/chains/evm/intents';
import type { RpcBlock, RpcLog, RpcTransaction } from '../../../src/chains/evm/rpc';
import {
  addressTopic,
  INVOICE_PAID_TOPIC,
  matchNativeTransfers,
  matchRouterPayments,
  matchTokenTransfers,
  TRANSFER_TOPIC,
  type WatchedOption,
} from '../../../src/chains/evm/scan';
import { nativeTransferUri, parseEip681, tokenTransferUri } from '../../../src/chains/evm/uri';
import { parseOption } from '../../../src/chains/networks';
import { ConfigError, loadConfig } from '../../../src/config';
import { parseDecimal } from '../../../src/lib/money';
import type { Merchant } from '../../../src/merchants/repository';

const A = (n: number) => getAddress(`0x${n.toString(16).padStart(40, '0')}`);
const DEPOSIT = A(0xd0);
const USDC = A(0xc0);
const ROUTER = A(0xee);

describe('EIP-681 URIs', () => {
  it('writes native and token transfers with the chain id, and reads them back', () => {
    const native = nativeTransferUri(DEPOSIT.toLowerCase(), 31337, 7_500_000_000_000_000n);
    expect(native).toBe(`ethereum:${DEPOSIT}@31337?value=7500000000000000`);
    expect(parseEip681(native)).toMatchObject({
      target: DEPOSIT,
      chainId: 31337,
      fn: null,
      params: { value: '7500000000000000' },
    });
    const token = tokenTransferUri(USDC, 11155111, DEPOSIT, 30_000_000n);
    expect(token).toBe(`ethereum:${USDC}@11155111/transfer?address=${DEPOSIT}&uint256=30000000`);
    expect(parseEip681(token)).toMatchObject({
      target: USDC,
      chainId: 11155111,
      fn: 'transfer',
      params: { address: DEPOSIT, uint256: '30000000' },
    });
    expect(() => parseEip681('ethereum:0x1234')).toThrow(SyntaxError);
    expect(() => nativeTransferUri(DEPOSIT, 1, -1n)).toThrow(RangeError);
  });
});

describe('invoice key and deposit address', () => {
  it('is keccak256 of the invoice id and the factory CREATE2 address for (key, payout)', () => {
    const id = 'inv_01jd8x3q4m5n6p7r8s9t0v1w2x';
    expect(invoiceKey(id)).toBe(keccak256(toUtf8Bytes(id)));
    const payout = Wallet.createRandom().address;
    const d = depositAddressFor(A(0xfa).toLowerCase(), id, payout.toLowerCase());
    expect(d.address).toBe(getAddress(computeDepositAddress(A(0xfa), invoiceKey(id), payout)));
    expect(d.payout).toBe(payout);
    expect(d.salt).toBe(
      keccak256(AbiCoder.defaultAbiCoder().encode(['bytes32', 'address'], [d.invoiceKey, payout])),
    );
    // Another invoice or another payout: another address.
    expect(depositAddressFor(A(0xfa), `${id}x`, payout).address).not.toBe(d.address);
    expect(depositAddressFor(A(0xfa), id, A(1)).address).not.toBe(d.address);
  });
});

describe('EVM settings from the environment', () => {
  const base = { NETWORK_MODE: 'testnet', LOG_LEVEL: 'silent' };
  it('configures a network with RPC URLs and a factory, with the official USDC by default', () => {
    const c = loadConfig({
      ...base,
      ETHEREUM_SEPOLIA_RPC_URLS: 'https://a.example/rpc, https://b.example/rpc',
      ETHEREUM_SEPOLIA_DEPOSIT_FACTORY_ADDRESS: A(0xfa).toLowerCase(),
      ETHEREUM_SEPOLIA_ROUTER_ADDRESS: ROUTER,
      BASE_SEPOLIA_RPC_URLS: 'https://base.example',
      GATEWAY_SIGNER_KEY: Wallet.createRandom().privateKey,
    });
    const s = evmSettingsFromConfig(c);
    expect([...s.networks.keys()]).toEqual(['ethereum-sepolia']); // base-sepolia has no factory
    expect(s.networks.get('ethereum-sepolia')).toMatchObject({
      chainId: 11155111,
      rpcUrls: ['https://a.example/rpc', 'https://b.example/rpc'],
      depositFactory: A(0xfa),
      router: ROUTER,
      tokens: { USDC: OFFICIAL_TOKENS['ethereum-sepolia']!.USDC },
      startBlock: null,
    });
    expect(s.signerKey).toMatch(/^0x[0-9a-f]{64}$/);
    expect(s.rpcTimeoutMs).toBe(5000);
  });

  it('ignores networks of other modes', () => {
    const c = loadConfig({
      ...base,
      ANVIL_RPC_URLS: 'http://127.0.0.1:8545',
      ANVIL_DEPOSIT_FACTORY_ADDRESS: A(0xfa),
    });
    expect(evmSettingsFromConfig(c).networks.size).toBe(0);
  });

  it('names every bad EVM variable, and never echoes a key', () => {
    let err: unknown;
    try {
      loadConfig({
        ...base,
        ETHEREUM_SEPOLIA_RPC_URLS: 'ftp://x',
        ETHEREUM_SEPOLIA_ROUTER_ADDRESS: `0x${'aB'.repeat(20)}`,
        ANVIL_USDC_ADDRESS: '0x123',
        ANVIL_START_BLOCK: '-1',
        GATEWAY_SIGNER_KEY: 'secret-but-wrong',
        EVM_RPC_TIMEOUT_MS: '5',
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const text = (err as ConfigError).problems.join('\n');
    for (const name of [
      'ETHEREUM_SEPOLIA_RPC_URLS',
      'ETHEREUM_SEPOLIA_ROUTER_ADDRESS',
      'ANVIL_USDC_ADDRESS',
      'ANVIL_START_BLOCK',
      'GATEWAY_SIGNER_KEY',
      'EVM_RPC_TIMEOUT_MS',
    ]) {
      expect(text).toContain(name);
    }
    expect(text).toContain('checksum');
    expect(text).not.toContain('secret-but-wrong');
  });
});

describe('EVM adapter', () => {
  const c = loadConfig({
    NETWORK_MODE: 'sandbox',
    ANVIL_RPC_URLS: 'http://127.0.0.1:1',
    ANVIL_DEPOSIT_FACTORY_ADDRESS: A(0xfa),
    ANVIL_USDC_ADDRESS: USDC,
  });
  const adapter = createEvmAdapter({ networks: evmSettingsFromConfig(c).networks });
  const merchant = (payout: string | null) => ({ evmPayoutAddress: payout }) as unknown as Merchant;
  const payout = Wallet.createRandom().address;

  it('says why an option cannot be offered', () => {
    expect(adapter.unavailableReason(merchant(payout), parseOption('ETH@anvil')!)).toBeUndefined();
    expect(adapter.unavailableReason(merchant(payout), parseOption('USDC@anvil')!)).toBeUndefined();
    expect(adapter.unavailableReason(merchant(payout), parseOption('USDT@anvil')!)).toMatch(
      /USDT has no token/,
    );
    expect(adapter.unavailableReason(merchant(null), parseOption('ETH@anvil')!)).toMatch(/payout address/);
    expect(adapter.unavailableReason(merchant('0xnope'), parseOption('ETH@anvil')!)).toMatch(
      /payout address/,
    );
    expect(adapter.unavailableReason(merchant(payout), parseOption('ETH@ethereum-sepolia')!)).toMatch(
      /ETHEREUM_SEPOLIA_RPC_URLS/,
    );
  });

  it('creates a deterministic deposit address and URI without any RPC call', async () => {
    const req = {
      tx: undefined as never,
      merchant: merchant(payout),
      invoiceId: 'inv_test',
      option: parseOption('USDC@anvil')!,
      amountAtomic: 30_000_000n,
      decimals: 6,
    };
    const a = await adapter.createPaymentOption(req);
    const b = await adapter.createPaymentOption({
      ...req,
      option: parseOption('ETH@anvil')!,
      amountAtomic: 5n,
    });
    expect(a.address).toBe(depositAddressFor(A(0xfa), 'inv_test', payout).address);
    expect(b.address).toBe(a.address);
    expect(a.uri).toBe(tokenTransferUri(USDC, 31337, a.address, 30_000_000n));
    expect(b.uri).toBe(nativeTransferUri(a.address, 31337, 5n));
    expect(a.details).toMatchObject({
      tokenAddress: USDC,
      payout,
      invoiceKey: invoiceKey('inv_test'),
      routerAddress: null,
    });
    expect(b.details).not.toHaveProperty('tokenAddress');
    await expect(adapter.createPaymentOption({ ...req, merchant: merchant(null) })).rejects.toMatchObject({
      code: 'option_unavailable',
    });
  });
});

describe('matching blocks and logs', () => {
  const watch = (asset: 'ETH' | 'USDC'): WatchedOption => ({
    invoiceId: 'inv_1',
    merchantId: 'mer_1',
    option: `${asset}@anvil`,
    asset,
    decimals: asset === 'ETH' ? 18 : 6,
    kztPerUnit: parseDecimal('500'),
    address: DEPOSIT,
    invoiceKey: invoiceKey('inv_1'),
  });
  const watched = {
    byAddress: new Map([[DEPOSIT.toLowerCase(), [watch('ETH'), watch('USDC')]]]),
    byKey: new Map([[invoiceKey('inv_1'), [watch('ETH'), watch('USDC')]]]),
  };
  const tokens = new Map([[USDC.toLowerCase(), 'USDC' as const]]);
  const H = (n: number) => `0x${n.toString(16).padStart(64, '0')}`;
  const tx = (to: string | null, value: bigint, n: number): RpcTransaction => ({
    hash: H(n),
    from: A(0xaa).toLowerCase(),
    to: to?.toLowerCase() ?? null,
    value: `0x${value.toString(16)}`,
    blockNumber: '0x7',
    blockHash: H(0xb7),
  });

  it('finds direct native transfers with value to watched addresses', () => {
    const block: RpcBlock<RpcTransaction> = {
      number: '0x7',
      hash: H(0xb7),
      parentHash: H(0xb6),
      timestamp: '0x1',
      transactions: [tx(DEPOSIT, 10n, 1), tx(DEPOSIT, 0n, 2), tx(A(5), 10n, 3), tx(null, 10n, 4)],
    };
    const out = matchNativeTransfers(block, watched, 'ETH');
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({
      txid: H(1),
      index: -1,
      blockNumber: 7,
      from: A(0xaa),
      amountAtomic: 10n,
      token: null,
    });
    expect(out[0]!.option.option).toBe('ETH@anvil');
  });

  const log = (over: Partial<RpcLog>): RpcLog => ({
    address: USDC.toLowerCase(),
    topics: [TRANSFER_TOPIC, addressTopic(A(0xaa)), addressTopic(DEPOSIT)],
    data: `0x${30_000_000n.toString(16).padStart(64, '0')}`,
    blockNumber: '0x7',
    blockHash: H(0xb7),
    transactionHash: H(9),
    logIndex: '0x3',
    ...over,
  });

  it('finds Transfer logs of configured tokens to watched addresses only', () => {
    const logs = [
      log({}),
      log({ address: A(0xbad) }), // an unknown token
      log({ topics: [TRANSFER_TOPIC, addressTopic(A(0xaa)), addressTopic(A(6))] }), // elsewhere
      log({ topics: [...log({}).topics, H(1)] }), // ERC-721 shape
      log({ data: `0x${'0'.repeat(64)}` }), // zero value
      log({ removed: true }),
    ];
    const out = matchTokenTransfers(logs, watched, tokens);
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({
      index: 3,
      amountAtomic: 30_000_000n,
      asset: 'USDC',
      token: USDC,
      from: A(0xaa),
    });
  });

  it('finds InvoicePaid events of the router by invoice key and asset', () => {
    const ev = (key: string, token: string, amount: bigint, address = ROUTER) => {
      const enc = routerInterface.encodeEventLog('InvoicePaid', [
        key,
        A(0xaa),
        token,
        amount,
        A(0x99),
        H(0x42),
      ]);
      return log({ address: address.toLowerCase(), topics: enc.topics, data: enc.data, logIndex: '0x5' });
    };
    const logs = [
      ev(invoiceKey('inv_1'), ZeroAddress, 99n),
      ev(invoiceKey('inv_1'), USDC, 7n),
      ev(invoiceKey('inv_other'), ZeroAddress, 1n),
      ev(invoiceKey('inv_1'), A(0xbad), 1n), // a token we do not take
      ev(invoiceKey('inv_1'), ZeroAddress, 1n, A(0xef)), // another contract's event
    ];
    expect(logs[0]!.topics[0]).toBe(INVOICE_PAID_TOPIC);
    const out = matchRouterPayments(logs, ROUTER, watched, tokens, 'ETH');
    expect(out.map((o) => [o.path, o.asset, o.amountAtomic, o.token])).toEqual([
      ['router', 'ETH', 99n, null],
      ['router', 'USDC', 7n, USDC],
    ]);
    expect(out[0]!.from).toBe(A(0xaa));
  });
});
