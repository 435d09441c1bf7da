import {
  AbiCoder,
  Contract,
  concat,
  getCreate2Address,
  Interface,
  id,
  keccak256,
  parseEther,
  parseUnits,
  type TransactionReceipt,
  type Wallet,
  ZeroAddress,
} from 'ethers';
import { describe, expect, it } from 'vitest';
import { deployContract } from '../../contracts/deploy';
import { computeDepositAddress, depositSalt } from '../../contracts/deposit-address';
import {
  DepositFactoryAbi,
  DepositForwarderAbi,
  DepositForwarderBytecode,
  StipendSenderAbi,
  StipendSenderBytecode,
  TestTokenAbi,
} from '../../contracts/generated/index';
import { call, eventsOf, expectRevert, send, useChain } from './support';

const factoryIface = new Interface(DepositFactoryAbi);
const forwarderIface = new Interface(DepositForwarderAbi);

// accounts: 0 deployer, 1 payer, 2 merchant payout, 3 sweeper (anyone), 4 someone trying to divert funds
const chain = useChain();
const payer = () => chain.accounts[1]!;
const payout = () => chain.accounts[2]!;
const sweeper = () => chain.accounts[3]!;
const thief = () => chain.accounts[4]!;

const factoryAs = (wallet: Wallet) =>
  new Contract(chain.deployment.addresses.depositFactory, DepositFactoryAbi, wallet);
const forwarderAs = (address: string, wallet: Wallet) => new Contract(address, DepositForwarderAbi, wallet);
const tokenAs = (address: string, wallet: Wallet) => new Contract(address, TestTokenAbi, wallet);
const usdc = () => chain.deployment.addresses.usdc;
const usdt = () => chain.deployment.addresses.usdt;

const balance = (address: string) => chain.anvil.provider.getBalance(address);
const tokenBalance = (token: string, address: string) =>
  call<bigint>(tokenAs(token, payer()), 'balanceOf', address);

let invoiceCounter = 0;
function newInvoiceId(): string {
  invoiceCounter += 1;
  return id(`inv_deposit_test_${invoiceCounter}`);
}

async function predicted(invoiceId: string, payoutAddress = payout().address): Promise<string> {
  return call<string>(factoryAs(sweeper()), 'computeAddress', invoiceId, payoutAddress);
}

async function sendNative(from: Wallet, to: string, value: bigint): Promise<void> {
  const receipt = await (await from.sendTransaction({ to, value })).wait();
  expect(receipt!.status).toBe(1);
}

async function sendToken(token: string, to: string, amount: bigint): Promise<void> {
  await send(tokenAs(token, chain.accounts[0]!), 'mint', payer().address, amount);
  await send(tokenAs(token, payer()), 'transfer', to, amount);
}

function flushedEvents(receipt: TransactionReceipt, forwarder: string) {
  return eventsOf(receipt, forwarderIface, forwarder, 'Flushed').map((e) => e.args.toObject());
}

describe('DepositFactory: addresses', () => {
  it('computes the CREATE2 address that ethers derives and the deployment lands on', async () => {
    const invoiceId = newInvoiceId();
    const factory = chain.deployment.addresses.depositFactory;
    const abi = AbiCoder.defaultAbiCoder();
    const salt = keccak256(abi.encode(['bytes32', 'address'], [invoiceId, payout().address]));
    const initCode = concat([DepositForwarderBytecode, abi.encode(['address'], [payout().address])]);
    const byEthers = getCreate2Address(factory, salt, keccak256(initCode));

    const onChain = await predicted(invoiceId);
    expect(onChain).toBe(byEthers);
    expect(computeDepositAddress(factory, invoiceId, payout().address)).toBe(byEthers);
    expect(await call(factoryAs(sweeper()), 'salt', invoiceId, payout().address)).toBe(salt);
    expect(depositSalt(invoiceId, payout().address)).toBe(salt);
    expect(await chain.anvil.provider.getCode(byEthers)).toBe('0x');

    const receipt = await send(factoryAs(sweeper()), 'deployAndFlush', invoiceId, payout().address, []);
    const [deployed] = eventsOf(receipt, factoryIface, factory, 'ForwarderDeployed');
    expect(deployed!.args.toObject()).toEqual({ forwarder: byEthers, invoiceId, payout: payout().address });
    expect(await chain.anvil.provider.getCode(byEthers)).not.toBe('0x');
    expect(await call(forwarderAs(byEthers, sweeper()), 'payout')).toBe(payout().address);
  });

  it('gives each invoice and each payout address its own deposit address', async () => {
    const invoiceId = newInvoiceId();
    const addresses = new Set([
      await predicted(invoiceId),
      await predicted(newInvoiceId()),
      await predicted(invoiceId, thief().address),
    ]);
    expect(addresses.size).toBe(3);
  });
});

describe('DepositFactory + DepositForwarder: flushing', () => {
  it('flushes coin and tokens sent before deployment to the payout address', async () => {
    const invoiceId = newInvoiceId();
    const deposit = await predicted(invoiceId);
    const coin = parseEther('0.25');
    const usdcAmount = parseUnits('150.5', 6);
    const usdtAmount = parseUnits('7', 6);
    await sendNative(payer(), deposit, coin);
    await sendToken(usdc(), deposit, usdcAmount);
    await sendToken(usdt(), deposit, usdtAmount);
    const payoutBefore = await balance(payout().address);

    // A third party pays the gas; the funds still go to the payout address.
    const receipt = await send(factoryAs(sweeper()), 'deployAndFlush', invoiceId, payout().address, [
      usdc(),
      usdt(),
    ]);

    expect((await balance(payout().address)) - payoutBefore).toBe(coin);
    expect(await tokenBalance(usdc(), payout().address)).toBe(usdcAmount);
    expect(await tokenBalance(usdt(), payout().address)).toBe(usdtAmount);
    expect(await balance(deposit)).toBe(0n);
    expect(await tokenBalance(usdc(), deposit)).toBe(0n);
    expect(flushedEvents(receipt, deposit)).toEqual([
      { forwarder: deposit, token: ZeroAddress, amount: coin },
      { forwarder: deposit, token: usdc(), amount: usdcAmount },
      { forwarder: deposit, token: usdt(), amount: usdtAmount },
    ]);
  });

  it('holds later coin for flush() (anyone may call) and flushes later token deposits', async () => {
    const invoiceId = newInvoiceId();
    const deposit = await predicted(invoiceId);
    await send(factoryAs(sweeper()), 'deployAndFlush', invoiceId, payout().address, []);

    const late = parseEther('0.1');
    await sendNative(payer(), deposit, late);
    expect(await balance(deposit)).toBe(late); // held until flushed: see DepositForwarder's notes
    const payoutBefore = await balance(payout().address);
    const receipt = await send(forwarderAs(deposit, thief()), 'flush');
    expect((await balance(payout().address)) - payoutBefore).toBe(late);
    expect(flushedEvents(receipt, deposit)).toEqual([
      { forwarder: deposit, token: ZeroAddress, amount: late },
    ]);

    await sendToken(usdc(), deposit, 42n);
    await send(forwarderAs(deposit, sweeper()), 'flushTokens', [usdc()]);
    expect(await tokenBalance(usdc(), payout().address)).toBe(42n);

    // deployAndFlush on an existing forwarder just flushes (no second deployment).
    await sendToken(usdt(), deposit, 7n);
    const again = await send(factoryAs(sweeper()), 'deployAndFlush', invoiceId, payout().address, [usdt()]);
    expect(
      eventsOf(again, factoryIface, chain.deployment.addresses.depositFactory, 'ForwarderDeployed'),
    ).toEqual([]);
    expect(await tokenBalance(usdt(), payout().address)).toBe(7n);
  });

  it('accepts coin from a sender that forwards only the 2,300 gas stipend', async () => {
    const invoiceId = newInvoiceId();
    const deposit = await predicted(invoiceId);
    await send(factoryAs(sweeper()), 'deployAndFlush', invoiceId, payout().address, []);
    const stipendSender = await deployContract(payer(), StipendSenderAbi, StipendSenderBytecode);

    const value = parseEther('0.3');
    await send(stipendSender, 'forward', deposit, { value });
    expect(await balance(deposit)).toBe(value);
    const payoutBefore = await balance(payout().address);
    await send(forwarderAs(deposit, sweeper()), 'flush');
    expect((await balance(payout().address)) - payoutBefore).toBe(value);
  });

  it('cannot be made to send funds anywhere but the committed payout address', async () => {
    const invoiceId = newInvoiceId();
    const deposit = await predicted(invoiceId);
    const coin = parseEther('1');
    await sendNative(payer(), deposit, coin);
    await sendToken(usdc(), deposit, 500n);

    // Naming another payout for the same invoice deploys at a different, empty address.
    const thiefBefore = await balance(thief().address);
    const receipt = await send(factoryAs(thief()), 'deployAndFlush', invoiceId, thief().address, [usdc()]);
    const [deployed] = eventsOf(receipt, factoryIface, chain.deployment.addresses.depositFactory);
    expect(deployed!.args['forwarder']).not.toBe(deposit);
    expect(await balance(deposit)).toBe(coin);
    expect(await tokenBalance(usdc(), deposit)).toBe(500n);
    expect(await tokenBalance(usdc(), thief().address)).toBe(0n);
    expect(await balance(thief().address)).toBeLessThan(thiefBefore); // paid gas, gained nothing

    // The forwarder's only state-changing entry points take no destination.
    const writable: string[] = [];
    forwarderIface.forEachFunction((f) => {
      if (!f.constant) writable.push(f.format('sighash'));
    });
    expect(writable.sort()).toEqual(['flush()', 'flushTokens(address[])']);

    // Whoever flushes the real forwarder, the funds reach the payout address.
    await send(factoryAs(thief()), 'deployAndFlush', invoiceId, payout().address, [usdc()]);
    expect(await tokenBalance(usdc(), payout().address)).toBe(500n);
    expect(await balance(deposit)).toBe(0n);
  });

  it('treats zero balances as a harmless no-op', async () => {
    const invoiceId = newInvoiceId();
    const deposit = await predicted(invoiceId);
    const receipt = await send(factoryAs(sweeper()), 'deployAndFlush', invoiceId, payout().address, [
      usdc(),
      usdt(),
    ]);
    expect(flushedEvents(receipt, deposit)).toEqual([]);
    const flush = await send(forwarderAs(deposit, sweeper()), 'flush');
    const flushTokens = await send(forwarderAs(deposit, sweeper()), 'flushTokens', [usdc()]);
    expect(flush.logs).toEqual([]);
    expect(flushTokens.logs).toEqual([]);
  });

  it('reports a payout that refuses coin, a token without code and a zero payout', async () => {
    const invoiceId = newInvoiceId();
    const refusingPayout = usdt(); // a contract without receive()
    const deposit = await predicted(invoiceId, refusingPayout);
    await sendNative(payer(), deposit, 1000n);
    await expectRevert(
      factoryAs(sweeper()).getFunction('deployAndFlush')(invoiceId, refusingPayout, []),
      forwarderIface,
      'NativeFlushFailed',
      [refusingPayout, 1000n],
    );

    const other = newInvoiceId();
    await send(factoryAs(sweeper()), 'deployAndFlush', other, payout().address, []);
    await expectRevert(
      forwarderAs(await predicted(other), sweeper()).getFunction('flushTokens')([thief().address]),
      forwarderIface,
      'TokenNotContract',
      [thief().address],
    );
    await expectRevert(
      factoryAs(sweeper()).getFunction('deployAndFlush')(other, ZeroAddress, []),
      factoryIface,
      'ZeroPayout',
    );
  });
});
