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
import { type FlushAuthorization, hashFlush, signFlush } from '../../contracts/flush-auth';
import {
  DepositFactoryAbi,
  DepositForwarderAbi,
  DepositForwarderBytecode,
  StipendSenderAbi,
  StipendSenderBytecode,
  TestTokenAbi,
} from '../../contracts/generated/index';
import { call, eventsOf, expectRevert, revertError, send, useChain } from './support';

const factoryIface = new Interface(DepositFactoryAbi);
const forwarderIface = new Interface(DepositForwarderAbi);

// accounts: 0 deployer (factory owner), 1 payer, 2 merchant payout, 3 sweeper (submits, pays gas),
// 4 someone trying to divert or release funds, 5 the gateway signer (authorizes flushes)
const chain = useChain((accounts) => ({ gatewaySigner: accounts[5]!.address }));
const payer = () => chain.accounts[1]!;
const payout = () => chain.accounts[2]!;
const sweeper = () => chain.accounts[3]!;
const thief = () => chain.accounts[4]!;
const gatewaySigner = () => chain.accounts[5]!;

const factoryAs = (wallet: Wallet) =>
  new Contract(chain.deployment.addresses.depositFactory, DepositFactoryAbi, wallet);
const forwarderAs = (address: string, wallet: Wallet) => new Contract(address, DepositForwarderAbi, wallet);
const tokenAs = (address: string, wallet: Wallet) => new Contract(address, TestTokenAbi, wallet);
const usdc = () => chain.deployment.addresses.usdc;
const usdt = () => chain.deployment.addresses.usdt;

const balance = (address: string) => chain.anvil.provider.getBalance(address);
const tokenBalance = (token: string, address: string) =>
  call<bigint>(tokenAs(token, payer()), 'balanceOf', address);

async function latestTimestamp(): Promise<bigint> {
  return BigInt((await chain.anvil.provider.getBlock('latest'))!.timestamp);
}

/** A flush authorization for the forwarder's current nonce, signed by `signer` (default: the gateway). */
async function authorize(
  invoiceId: string,
  payoutAddress: string,
  tokens: string[],
  opts: { signer?: Wallet; nonce?: bigint; deadline?: bigint } = {},
): Promise<{ auth: FlushAuthorization; signature: string }> {
  const factory = chain.deployment.addresses.depositFactory;
  const forwarder = await call<string>(factoryAs(sweeper()), 'computeAddress', invoiceId, payoutAddress);
  const nonce = opts.nonce ?? (await call<bigint>(factoryAs(sweeper()), 'nonces', forwarder));
  const deadline = opts.deadline ?? (await latestTimestamp()) + 600n;
  const auth = { invoiceId, payout: payoutAddress, tokens, nonce, deadline };
  const signature = await signFlush(opts.signer ?? gatewaySigner(), chain.chainId, factory, auth);
  return { auth, signature };
}

const flushArgs = (a: { auth: FlushAuthorization; signature: string }) =>
  [a.auth.invoiceId, a.auth.payout, a.auth.tokens, a.auth.deadline, a.signature] as const;

/** deployAndFlush with a fresh gateway authorization, submitted by `by`. */
async function flushAs(by: Wallet, invoiceId: string, payoutAddress: string, tokens: string[]) {
  return send(
    factoryAs(by),
    'deployAndFlush',
    ...flushArgs(await authorize(invoiceId, payoutAddress, tokens)),
  );
}

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

    const receipt = await flushAs(sweeper(), invoiceId, payout().address, []);
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
    const receipt = await flushAs(sweeper(), invoiceId, payout().address, [usdc(), usdt()]);

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

  it('holds later coin and tokens until the next authorized flush', async () => {
    const invoiceId = newInvoiceId();
    const deposit = await predicted(invoiceId);
    await flushAs(sweeper(), invoiceId, payout().address, []);

    const late = parseEther('0.1');
    await sendNative(payer(), deposit, late);
    await sendToken(usdc(), deposit, 42n);
    expect(await balance(deposit)).toBe(late); // held until flushed: see DepositForwarder's notes
    const payoutBefore = await balance(payout().address);
    // deployAndFlush on an existing forwarder just flushes (no second deployment).
    const receipt = await flushAs(sweeper(), invoiceId, payout().address, [usdc()]);
    expect((await balance(payout().address)) - payoutBefore).toBe(late);
    expect(await tokenBalance(usdc(), payout().address)).toBe(42n);
    expect(flushedEvents(receipt, deposit)).toEqual([
      { forwarder: deposit, token: ZeroAddress, amount: late },
      { forwarder: deposit, token: usdc(), amount: 42n },
    ]);
    expect(
      eventsOf(receipt, factoryIface, chain.deployment.addresses.depositFactory, 'ForwarderDeployed'),
    ).toEqual([]);
  });

  it('accepts coin from a sender that forwards only the 2,300 gas stipend', async () => {
    const invoiceId = newInvoiceId();
    const deposit = await predicted(invoiceId);
    await flushAs(sweeper(), invoiceId, payout().address, []);
    const stipendSender = await deployContract(payer(), StipendSenderAbi, StipendSenderBytecode);

    const value = parseEther('0.3');
    await send(stipendSender, 'forward', deposit, { value });
    expect(await balance(deposit)).toBe(value);
    const payoutBefore = await balance(payout().address);
    await flushAs(sweeper(), invoiceId, payout().address, []);
    expect((await balance(payout().address)) - payoutBefore).toBe(value);
  });

  it('cannot be made to send funds anywhere but the committed payout address', async () => {
    const invoiceId = newInvoiceId();
    const deposit = await predicted(invoiceId);
    const coin = parseEther('1');
    await sendNative(payer(), deposit, coin);
    await sendToken(usdc(), deposit, 500n);

    // Even an authorization naming another payout for the same invoice only deploys at a different,
    // empty address.
    const thiefBefore = await balance(thief().address);
    const receipt = await flushAs(thief(), invoiceId, thief().address, [usdc()]);
    const [deployed] = eventsOf(receipt, factoryIface, chain.deployment.addresses.depositFactory);
    expect(deployed!.args['forwarder']).not.toBe(deposit);
    expect(await balance(deposit)).toBe(coin);
    expect(await tokenBalance(usdc(), deposit)).toBe(500n);
    expect(await tokenBalance(usdc(), thief().address)).toBe(0n);
    expect(await balance(thief().address)).toBeLessThan(thiefBefore); // paid gas, gained nothing

    // The forwarder's only state-changing entry point takes no destination.
    const writable: string[] = [];
    forwarderIface.forEachFunction((f) => {
      if (!f.constant) writable.push(f.format('sighash'));
    });
    expect(writable.sort()).toEqual(['flush(address[])']);

    // Whoever submits the authorized flush of the real forwarder, the funds reach the payout address.
    await flushAs(thief(), invoiceId, payout().address, [usdc()]);
    expect(await tokenBalance(usdc(), payout().address)).toBe(500n);
    expect(await balance(deposit)).toBe(0n);
  });

  it('treats zero balances as a harmless no-op', async () => {
    const invoiceId = newInvoiceId();
    const deposit = await predicted(invoiceId);
    const receipt = await flushAs(sweeper(), invoiceId, payout().address, [usdc(), usdt()]);
    expect(flushedEvents(receipt, deposit)).toEqual([]);
    const again = await flushAs(sweeper(), invoiceId, payout().address, [usdc()]);
    expect(again.logs).toEqual([]);
  });

  it('reports a payout that refuses coin, a token without code and a zero payout', async () => {
    const invoiceId = newInvoiceId();
    const refusingPayout = usdt(); // a contract without receive()
    const deposit = await predicted(invoiceId, refusingPayout);
    await sendNative(payer(), deposit, 1000n);
    await expectRevert(
      factoryAs(sweeper()).getFunction('deployAndFlush')(
        ...flushArgs(await authorize(invoiceId, refusingPayout, [])),
      ),
      forwarderIface,
      'NativeFlushFailed',
      [refusingPayout, 1000n],
    );

    const other = newInvoiceId();
    await flushAs(sweeper(), other, payout().address, []);
    await expectRevert(
      factoryAs(sweeper()).getFunction('deployAndFlush')(
        ...flushArgs(await authorize(other, payout().address, [thief().address])),
      ),
      forwarderIface,
      'TokenNotContract',
      [thief().address],
    );
    await expectRevert(
      factoryAs(sweeper()).getFunction('deployAndFlush')(
        ...flushArgs(await authorize(other, ZeroAddress, [])),
      ),
      factoryIface,
      'ZeroPayout',
    );
  });
});

describe('DepositFactory: flush authorization', () => {
  const factoryAddress = () => chain.deployment.addresses.depositFactory;

  it("refuses a flush by anyone without the gateway signer's authorization", async () => {
    const invoiceId = newInvoiceId();
    const deposit = await predicted(invoiceId);
    await sendNative(payer(), deposit, 1000n);
    await sendToken(usdc(), deposit, 77n);

    // The merchant (payout) or a third party signing for themselves: refused.
    for (const signer of [thief(), payout(), sweeper()]) {
      const a = await authorize(invoiceId, payout().address, [usdc()], { signer });
      await expectRevert(
        factoryAs(thief()).getFunction('deployAndFlush')(...flushArgs(a)),
        factoryIface,
        'UnauthorizedSigner',
        [signer.address],
      );
    }
    await expectRevert(
      factoryAs(thief()).getFunction('deployAndFlush')(invoiceId, payout().address, [], 2n ** 40n, '0x'),
      factoryIface,
      'InvalidSignature',
    );
    // Nobody but the factory can call the forwarder itself (once it is deployed).
    await send(factoryAs(thief()), 'deploy', invoiceId, payout().address);
    await expectRevert(
      forwarderAs(deposit, thief()).getFunction('flush')([usdc()]),
      forwarderIface,
      'NotFactory',
      [thief().address],
    );
    await expectRevert(
      forwarderAs(deposit, payout()).getFunction('flush')([]),
      forwarderIface,
      'NotFactory',
      [payout().address],
    );
    expect(await balance(deposit)).toBe(1000n);
    expect(await tokenBalance(usdc(), deposit)).toBe(77n);
  });

  it('accepts an authorization once: a replay, an older nonce or a changed token list fails', async () => {
    const invoiceId = newInvoiceId();
    const deposit = await predicted(invoiceId);
    await sendNative(payer(), deposit, 1000n);
    const a = await authorize(invoiceId, payout().address, []);
    expect(
      await call(
        factoryAs(sweeper()),
        'hashFlush',
        ...[a.auth.invoiceId, a.auth.payout, a.auth.tokens, a.auth.nonce, a.auth.deadline],
      ),
    ).toBe(hashFlush(chain.chainId, factoryAddress(), a.auth));
    await send(factoryAs(sweeper()), 'deployAndFlush', ...flushArgs(a));
    expect(await call<bigint>(factoryAs(sweeper()), 'nonces', deposit)).toBe(1n);

    await sendNative(payer(), deposit, 2000n);
    const replay = await revertError(
      factoryAs(thief()).getFunction('deployAndFlush')(...flushArgs(a)),
      factoryIface,
    );
    expect(replay.name).toBe('UnauthorizedSigner');
    expect(replay.args[0]).not.toBe(gatewaySigner().address);

    // Tokens the signer did not name: another digest, another recovered address.
    const b = await authorize(invoiceId, payout().address, []);
    await expectRevert(
      factoryAs(thief()).getFunction('deployAndFlush')(
        b.auth.invoiceId,
        b.auth.payout,
        [usdc()],
        b.auth.deadline,
        b.signature,
      ),
      factoryIface,
      'UnauthorizedSigner',
    );
    expect(await balance(deposit)).toBe(2000n);
    await send(factoryAs(thief()), 'deployAndFlush', ...flushArgs(b));
    expect(await balance(deposit)).toBe(0n);
  });

  it('refuses an expired authorization', async () => {
    const invoiceId = newInvoiceId();
    await sendNative(payer(), await predicted(invoiceId), 1000n);
    const now = await latestTimestamp();
    const a = await authorize(invoiceId, payout().address, [], { deadline: now });
    await chain.anvil.provider.send('evm_increaseTime', [5]);
    await chain.anvil.provider.send('evm_mine', []);
    const err = await revertError(
      factoryAs(sweeper()).getFunction('deployAndFlush')(...flushArgs(a)),
      factoryIface,
    );
    expect(err.name).toBe('AuthorizationExpired');
    expect(err.args[0]).toBe(now);
  });

  it('lets only the owner rotate the signer, never to zero, and never be renounced', async () => {
    await expectRevert(
      factoryAs(thief()).getFunction('setFlushSigner')(thief().address),
      factoryIface,
      'OwnableUnauthorizedAccount',
      [thief().address],
    );
    const owner = chain.accounts[0]!;
    await expectRevert(
      factoryAs(owner).getFunction('setFlushSigner')(ZeroAddress),
      factoryIface,
      'ZeroSigner',
    );
    await expectRevert(
      factoryAs(owner).getFunction('renounceOwnership')(),
      factoryIface,
      'RenounceOwnershipDisabled',
    );

    // After a rotation the old signer's authorizations stop working; deposit addresses stay.
    const invoiceId = newInvoiceId();
    const before = await predicted(invoiceId);
    const old = await authorize(invoiceId, payout().address, []);
    await send(factoryAs(owner), 'setFlushSigner', sweeper().address);
    expect(await predicted(invoiceId)).toBe(before);
    await expectRevert(
      factoryAs(thief()).getFunction('deployAndFlush')(...flushArgs(old)),
      factoryIface,
      'UnauthorizedSigner',
      [gatewaySigner().address],
    );
    await send(
      factoryAs(thief()),
      'deployAndFlush',
      ...flushArgs(await authorize(invoiceId, payout().address, [], { signer: sweeper() })),
    );
  });

  it('keeps gas sane: deploy + flush of coin and one token, and a later flush', async () => {
    const invoiceId = newInvoiceId();
    const deposit = await predicted(invoiceId);
    await sendNative(payer(), deposit, 1000n);
    await sendToken(usdc(), deposit, 5n);
    const first = await flushAs(sweeper(), invoiceId, payout().address, [usdc()]);
    await sendNative(payer(), deposit, 1000n);
    await sendToken(usdc(), deposit, 5n);
    const later = await flushAs(sweeper(), invoiceId, payout().address, [usdc()]);
    console.log(`deployAndFlush gas: first ${first.gasUsed}, later ${later.gasUsed}`);
    // Measured: ~408k and ~71k (the authorization adds ~53k to the first: a fresh nonce slot and
    // ecrecover; ~16k to later ones). The bounds catch a regression, not a drift of a few hundred.
    expect(first.gasUsed).toBeLessThan(450_000n);
    expect(later.gasUsed).toBeLessThan(100_000n);
  });
});
