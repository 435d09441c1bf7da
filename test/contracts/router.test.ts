import {
  Contract,
  Interface,
  id,
  parseEther,
  parseUnits,
  Signature,
  TypedDataEncoder,
  verifyTypedData,
  type Wallet,
  ZeroAddress,
} from 'ethers';
import { describe, expect, it } from 'vitest';
import { deployContract, SANDBOX_TOKENS } from '../../contracts/deploy';
import {
  FeeOnTransferTokenAbi,
  FeeOnTransferTokenBytecode,
  PaymentRouterAbi,
  ReentrantRecipientAbi,
  ReentrantRecipientBytecode,
  TestTokenAbi,
} from '../../contracts/generated/index';
import {
  hashIntent,
  INTENT_TYPES,
  type PaymentIntent,
  ROUTER_DOMAIN_NAME,
  ROUTER_DOMAIN_VERSION,
  routerDomain,
  signIntent,
} from '../../contracts/intent';
import { call, errorSelector, eventsOf, expectRevert, revertError, send, useChain } from './support';

const routerIface = new Interface(PaymentRouterAbi);
const tokenIface = new Interface(TestTokenAbi);

// accounts: 0 owner/deployer, 1 gateway signer, 2 payer, 3 merchant, 4 someone else, 5 a new gateway key
const chain = useChain((accounts) => ({ gatewaySigner: accounts[1]!.address }));
const owner = () => chain.accounts[0]!;
const gateway = () => chain.accounts[1]!;
const payer = () => chain.accounts[2]!;
const merchant = () => chain.accounts[3]!;
const stranger = () => chain.accounts[4]!;
const newGateway = () => chain.accounts[5]!;

const routerAddress = () => chain.deployment.addresses.router;
const routerAs = (wallet: Wallet) => new Contract(routerAddress(), PaymentRouterAbi, wallet);
const tokenAs = (address: string, wallet: Wallet) => new Contract(address, TestTokenAbi, wallet);

let invoiceCounter = 0;

async function latestTimestamp(): Promise<number> {
  const block = await chain.anvil.provider.getBlock('latest');
  return block!.timestamp;
}

async function makeIntent(overrides: Partial<PaymentIntent> = {}): Promise<PaymentIntent> {
  invoiceCounter += 1;
  return {
    invoiceId: id(`inv_router_test_${invoiceCounter}`),
    payer: payer().address,
    token: ZeroAddress,
    amount: parseEther('1.5'),
    recipient: merchant().address,
    deadline: BigInt((await latestTimestamp()) + 3600),
    ...overrides,
  };
}

function sign(intent: PaymentIntent, signer: Wallet = gateway()): Promise<string> {
  return signIntent(signer, chain.chainId, routerAddress(), intent);
}

async function mintAndApprove(
  token: string,
  wallet: Wallet,
  amount: bigint,
  approve = amount,
): Promise<void> {
  await send(tokenAs(token, owner()), 'mint', wallet.address, amount);
  if (approve > 0n) await send(tokenAs(token, wallet), 'approve', routerAddress(), approve);
}

async function signPermit(wallet: Wallet, token: string, tokenName: string, value: bigint, deadline: bigint) {
  const nonce = await call<bigint>(tokenAs(token, wallet), 'nonces', wallet.address);
  const signature = await wallet.signTypedData(
    { name: tokenName, version: '1', chainId: chain.chainId, verifyingContract: token },
    {
      Permit: [
        { name: 'owner', type: 'address' },
        { name: 'spender', type: 'address' },
        { name: 'value', type: 'uint256' },
        { name: 'nonce', type: 'uint256' },
        { name: 'deadline', type: 'uint256' },
      ],
    },
    { owner: wallet.address, spender: routerAddress(), value, nonce, deadline },
  );
  return Signature.from(signature);
}

const balance = (address: string) => chain.anvil.provider.getBalance(address);
const tokenBalance = (token: string, address: string) =>
  call<bigint>(tokenAs(token, owner()), 'balanceOf', address);
const isUsed = (digest: string) => call<boolean>(routerAs(owner()), 'isIntentUsed', digest);

describe('PaymentRouter: EIP-712 domain and hashing', () => {
  it('hashes an intent exactly as ethers does for the documented domain and type', async () => {
    const intent = await makeIntent({ token: chain.deployment.addresses.usdc, amount: 12_345_678n });
    const onChain = await call<string>(routerAs(owner()), 'hashIntent', intent);
    const expected = TypedDataEncoder.hash(
      { name: 'AlatauPayRouter', version: '1', chainId: 31337, verifyingContract: routerAddress() },
      INTENT_TYPES,
      intent,
    );
    expect(onChain).toBe(expected);
    expect(hashIntent(chain.chainId, routerAddress(), intent)).toBe(expected);
    expect(await call(routerAs(owner()), 'INTENT_TYPEHASH')).toBe(
      id(
        'Intent(bytes32 invoiceId,address payer,address token,uint256 amount,' +
          'address recipient,uint256 deadline)',
      ),
    );
  });

  it('reports its EIP-5267 domain', async () => {
    const domain = await call<unknown[]>(routerAs(owner()), 'eip712Domain');
    expect(domain[1]).toBe(ROUTER_DOMAIN_NAME);
    expect(domain[2]).toBe(ROUTER_DOMAIN_VERSION);
    expect(domain[3]).toBe(31337n);
    expect(domain[4]).toBe(routerAddress());
  });
});

describe('PaymentRouter: happy paths', () => {
  it('pays native coin to the recipient and emits InvoicePaid with every field', async () => {
    const intent = await makeIntent();
    const signature = await sign(intent);
    const before = await balance(merchant().address);

    const receipt = await send(routerAs(payer()), 'pay', intent, signature, { value: intent.amount });

    expect((await balance(merchant().address)) - before).toBe(intent.amount);
    expect(await balance(routerAddress())).toBe(0n);
    const digest = hashIntent(chain.chainId, routerAddress(), intent);
    expect(await isUsed(digest)).toBe(true);

    const [event, ...more] = eventsOf(receipt, routerIface, routerAddress(), 'InvoicePaid');
    expect(more).toHaveLength(0);
    expect(event!.topic).toBe(id('InvoicePaid(bytes32,address,address,uint256,address,bytes32)'));
    expect(event!.args.toObject()).toEqual({
      invoiceId: intent.invoiceId,
      payer: payer().address,
      token: ZeroAddress,
      amount: intent.amount,
      recipient: merchant().address,
      intentHash: digest,
    });
    // The three indexed fields are filterable topics.
    const log = receipt.logs.find((l) => l.address === routerAddress())!;
    expect(log.topics[1]).toBe(intent.invoiceId);
    expect(log.topics[2]!.toLowerCase()).toContain(payer().address.slice(2).toLowerCase());
  });

  it('pays a token after an approve, moving it straight from payer to recipient', async () => {
    const usdc = chain.deployment.addresses.usdc;
    const amount = parseUnits('2500.75', 6);
    await mintAndApprove(usdc, payer(), amount);
    const intent = await makeIntent({ token: usdc, amount });

    const receipt = await send(routerAs(payer()), 'pay', intent, await sign(intent));

    expect(await tokenBalance(usdc, merchant().address)).toBe(amount);
    expect(await tokenBalance(usdc, payer().address)).toBe(0n);
    expect(await tokenBalance(usdc, routerAddress())).toBe(0n);
    const [event] = eventsOf(receipt, routerIface, routerAddress(), 'InvoicePaid');
    expect(event!.args['token']).toBe(usdc);
    expect(event!.args['amount']).toBe(amount);
  });

  it('pays a token with an EIP-2612 permit instead of an approve transaction', async () => {
    const usdt = chain.deployment.addresses.usdt;
    const amount = parseUnits('99.99', 6);
    await mintAndApprove(usdt, payer(), amount, 0n);
    const intent = await makeIntent({ token: usdt, amount });
    const permitDeadline = intent.deadline;
    const permit = await signPermit(payer(), usdt, SANDBOX_TOKENS.usdt.name, amount, permitDeadline);

    const receipt = await send(
      routerAs(payer()),
      'payWithPermit',
      intent,
      await sign(intent),
      permitDeadline,
      permit.v,
      permit.r,
      permit.s,
    );

    expect(await tokenBalance(usdt, merchant().address)).toBe(amount);
    expect(await call(tokenAs(usdt, payer()), 'nonces', payer().address)).toBe(1n);
    expect(await call(tokenAs(usdt, payer()), 'allowance', payer().address, routerAddress())).toBe(0n);
    expect(eventsOf(receipt, routerIface, routerAddress(), 'InvoicePaid')).toHaveLength(1);
  });

  it('still pays when the permit was front-run (nonce spent, allowance in place)', async () => {
    const usdc = chain.deployment.addresses.usdc;
    const amount = parseUnits('10', 6);
    await mintAndApprove(usdc, payer(), amount, 0n);
    const intent = await makeIntent({ token: usdc, amount });
    const permit = await signPermit(payer(), usdc, SANDBOX_TOKENS.usdc.name, amount, intent.deadline);

    // A mempool watcher submits the payer's permit first.
    await send(
      tokenAs(usdc, stranger()),
      'permit',
      payer().address,
      routerAddress(),
      amount,
      intent.deadline,
      permit.v,
      permit.r,
      permit.s,
    );
    const args = [intent, await sign(intent), intent.deadline, permit.v, permit.r, permit.s];
    // The same permit now fails on its own ...
    await expectRevert(
      tokenAs(usdc, payer()).getFunction('permit')(
        payer().address,
        routerAddress(),
        amount,
        intent.deadline,
        permit.v,
        permit.r,
        permit.s,
      ),
      tokenIface,
      'ERC2612InvalidSigner',
    );
    // ... but the router tolerates that and pays.
    await send(routerAs(payer()), 'payWithPermit', ...args);
    expect(await tokenBalance(usdc, merchant().address)).toBe(amount);
  });

  it('refuses when the permit fails and no allowance covers the amount', async () => {
    const usdc = chain.deployment.addresses.usdc;
    const amount = parseUnits('10', 6);
    await mintAndApprove(usdc, payer(), amount, amount - 1n);
    const intent = await makeIntent({ token: usdc, amount });
    // Signed by the wrong key: the permit reverts.
    const permit = await signPermit(stranger(), usdc, SANDBOX_TOKENS.usdc.name, amount, intent.deadline);
    await expectRevert(
      routerAs(payer()).getFunction('payWithPermit')(
        intent,
        await sign(intent),
        intent.deadline,
        permit.v,
        permit.r,
        permit.s,
      ),
      routerIface,
      'PermitFailed',
      [amount - 1n, amount],
    );
  });
});

describe('PaymentRouter: signatures and signers', () => {
  it('rejects an intent signed by a key outside the signer set', async () => {
    const intent = await makeIntent();
    await expectRevert(
      routerAs(payer()).getFunction('pay')(intent, await sign(intent, stranger()), { value: intent.amount }),
      routerIface,
      'UnauthorizedSigner',
      [stranger().address],
    );
  });

  it('rejects a malformed signature', async () => {
    const intent = await makeIntent();
    const good = await sign(intent);
    for (const bad of ['0x1234', good.slice(0, -2)]) {
      await expectRevert(
        routerAs(payer()).getFunction('pay')(intent, bad, { value: intent.amount }),
        routerIface,
        'InvalidSignature',
      );
    }
  });

  it('rotates keys: the new key works, the removed one stops, even for earlier intents', async () => {
    const signedBefore = await makeIntent();
    const oldSignature = await sign(signedBefore);

    await send(routerAs(owner()), 'addSigner', newGateway().address);
    await send(routerAs(owner()), 'removeSigner', gateway().address);
    expect(await call(routerAs(owner()), 'isSigner', gateway().address)).toBe(false);
    expect(await call(routerAs(owner()), 'isSigner', newGateway().address)).toBe(true);

    await expectRevert(
      routerAs(payer()).getFunction('pay')(signedBefore, oldSignature, { value: signedBefore.amount }),
      routerIface,
      'UnauthorizedSigner',
      [gateway().address],
    );
    const fresh = await makeIntent();
    await send(routerAs(payer()), 'pay', fresh, await sign(fresh, newGateway()), { value: fresh.amount });
  });

  it('lets only the owner manage signers; refuses duplicates, unknown keys, zero', async () => {
    const ownable = routerAs(stranger());
    await expectRevert(
      ownable.getFunction('addSigner')(stranger().address),
      routerIface,
      'OwnableUnauthorizedAccount',
      [stranger().address],
    );
    await expectRevert(
      ownable.getFunction('removeSigner')(gateway().address),
      routerIface,
      'OwnableUnauthorizedAccount',
    );
    const router = routerAs(owner());
    await expectRevert(router.getFunction('addSigner')(gateway().address), routerIface, 'SignerAlreadyAdded');
    await expectRevert(router.getFunction('removeSigner')(stranger().address), routerIface, 'SignerNotFound');
    await expectRevert(router.getFunction('addSigner')(ZeroAddress), routerIface, 'ZeroAddress');
  });

  it('transfers ownership in two steps and cannot be renounced', async () => {
    await send(routerAs(owner()), 'transferOwnership', stranger().address);
    expect(await call(routerAs(owner()), 'owner')).toBe(owner().address);
    expect(await call(routerAs(owner()), 'pendingOwner')).toBe(stranger().address);
    await send(routerAs(stranger()), 'acceptOwnership');
    expect(await call(routerAs(owner()), 'owner')).toBe(stranger().address);
    await expectRevert(
      routerAs(stranger()).getFunction('renounceOwnership')(),
      routerIface,
      'RenounceOwnershipDisabled',
    );
  });

  it('treats an intent signed for another chain id or another router as a wrong signer', async () => {
    const intent = await makeIntent();
    const foreignDomains = [
      routerDomain(1, routerAddress()),
      routerDomain(chain.chainId, stranger().address),
    ];
    for (const domain of foreignDomains) {
      const signature = await gateway().signTypedData(domain, INTENT_TYPES, intent);
      // What this router recovers: the same signature checked against its own domain.
      const recovered = verifyTypedData(
        routerDomain(chain.chainId, routerAddress()),
        INTENT_TYPES,
        intent,
        signature,
      );
      expect(recovered).not.toBe(gateway().address);
      await expectRevert(
        routerAs(payer()).getFunction('pay')(intent, signature, { value: intent.amount }),
        routerIface,
        'UnauthorizedSigner',
        [recovered],
      );
    }
  });
});

describe('PaymentRouter: intent checks', () => {
  it('rejects an expired intent and accepts one paid in the deadline second itself', async () => {
    const expired = await makeIntent({ deadline: BigInt((await latestTimestamp()) - 1) });
    await expectRevert(
      routerAs(payer()).getFunction('pay')(expired, await sign(expired), { value: expired.amount }),
      routerIface,
      'IntentExpired',
    );

    const onTime = await makeIntent();
    const onTimeSignature = await sign(onTime);
    await chain.anvil.provider.send('evm_setNextBlockTimestamp', [Number(onTime.deadline)]);
    // gasLimit set: estimating on a pending block could see another timestamp.
    const tx = await routerAs(payer()).getFunction('pay')(onTime, onTimeSignature, {
      value: onTime.amount,
      gasLimit: 300_000n,
    });
    const receipt = await tx.wait();
    expect(receipt!.status).toBe(1);
    expect((await chain.anvil.provider.getBlock(receipt!.blockNumber))!.timestamp).toBe(
      Number(onTime.deadline),
    );

    const late = await makeIntent();
    const lateSignature = await sign(late);
    await chain.anvil.provider.send('evm_mine', [Number(late.deadline) + 1]);
    const error = await expectRevert(
      routerAs(payer()).getFunction('pay')(late, lateSignature, { value: late.amount }),
      routerIface,
      'IntentExpired',
    );
    expect(error.args[0]).toBe(late.deadline);
    expect(error.args[1]).toBeGreaterThan(late.deadline);
  });

  it('pays an intent only once', async () => {
    const intent = await makeIntent();
    const signature = await sign(intent);
    await send(routerAs(payer()), 'pay', intent, signature, { value: intent.amount });
    await expectRevert(
      routerAs(payer()).getFunction('pay')(intent, signature, { value: intent.amount }),
      routerIface,
      'IntentAlreadyUsed',
      [hashIntent(chain.chainId, routerAddress(), intent)],
    );
  });

  it('accepts an intent only from its payer', async () => {
    const intent = await makeIntent();
    await expectRevert(
      routerAs(stranger()).getFunction('pay')(intent, await sign(intent), { value: intent.amount }),
      routerIface,
      'PayerMismatch',
      [payer().address, stranger().address],
    );
  });

  it('requires exactly the native amount', async () => {
    const intent = await makeIntent();
    const signature = await sign(intent);
    for (const value of [intent.amount - 1n, intent.amount + 1n, 0n]) {
      await expectRevert(
        routerAs(payer()).getFunction('pay')(intent, signature, { value }),
        routerIface,
        'IncorrectNativeAmount',
        [intent.amount, value],
      );
    }
  });

  it('refuses native coin attached to a token payment', async () => {
    const usdc = chain.deployment.addresses.usdc;
    await mintAndApprove(usdc, payer(), 1_000_000n);
    const intent = await makeIntent({ token: usdc, amount: 1_000_000n });
    await expectRevert(
      routerAs(payer()).getFunction('pay')(intent, await sign(intent), { value: 1n }),
      routerIface,
      'UnexpectedNativeValue',
      [1n],
    );
  });

  it('refuses zero amount, zero/self recipient, code-less token, permit on native', async () => {
    const cases: Array<[Partial<PaymentIntent>, string]> = [
      [{ amount: 0n }, 'ZeroAmount'],
      [{ recipient: ZeroAddress }, 'InvalidRecipient'],
      [{ recipient: chain.deployment.addresses.router }, 'InvalidRecipient'],
      [{ token: stranger().address, amount: 5n }, 'TokenNotContract'],
    ];
    for (const [overrides, name] of cases) {
      const intent = await makeIntent(overrides);
      const value = intent.token === ZeroAddress ? intent.amount : 0n;
      await expectRevert(
        routerAs(payer()).getFunction('pay')(intent, await sign(intent), { value }),
        routerIface,
        name,
      );
    }
    const native = await makeIntent();
    const sig = Signature.from(await sign(native));
    await expectRevert(
      routerAs(payer()).getFunction('payWithPermit')(
        native,
        sig.serialized,
        native.deadline,
        sig.v,
        sig.r,
        sig.s,
      ),
      routerIface,
      'PermitNotApplicable',
    );
  });

  it('reverts when the recipient refuses native coin', async () => {
    const refusing = chain.deployment.addresses.usdc; // a contract without receive()
    const intent = await makeIntent({ recipient: refusing });
    await expectRevert(
      routerAs(payer()).getFunction('pay')(intent, await sign(intent), { value: intent.amount }),
      routerIface,
      'NativeTransferFailed',
      [refusing],
    );
  });
});

describe('PaymentRouter: pause, sanctions, hostile tokens and recipients', () => {
  it('refuses payments while paused and resumes after unpause; only the owner pauses', async () => {
    await expectRevert(
      routerAs(stranger()).getFunction('pause')(),
      routerIface,
      'OwnableUnauthorizedAccount',
    );
    await send(routerAs(owner()), 'pause');
    const intent = await makeIntent();
    const signature = await sign(intent);
    await expectRevert(
      routerAs(payer()).getFunction('pay')(intent, signature, { value: intent.amount }),
      routerIface,
      'EnforcedPause',
    );
    await send(routerAs(owner()), 'unpause');
    await send(routerAs(payer()), 'pay', intent, signature, { value: intent.amount });
  });

  it('refuses a payer that the sanctions oracle lists, and only that payer', async () => {
    const oracle = new Contract(
      chain.deployment.addresses.sanctionsOracle,
      chain.deployment.sanctionsOracle.interface,
      owner(),
    );
    expect(await call(routerAs(owner()), 'sanctionsOracle')).toBe(chain.deployment.addresses.sanctionsOracle);
    await send(oracle, 'setSanctioned', payer().address, true);

    const intent = await makeIntent();
    const signature = await sign(intent);
    await expectRevert(
      routerAs(payer()).getFunction('pay')(intent, signature, { value: intent.amount }),
      routerIface,
      'SanctionedPayer',
      [payer().address],
    );
    const otherPayer = await makeIntent({ payer: stranger().address });
    await send(routerAs(stranger()), 'pay', otherPayer, await sign(otherPayer), { value: otherPayer.amount });

    // Turning the oracle off in the router lets the same intent through.
    await send(routerAs(owner()), 'setSanctionsOracle', ZeroAddress);
    await send(routerAs(payer()), 'pay', intent, signature, { value: intent.amount });
  });

  it('refuses an oracle address without code', async () => {
    await expectRevert(
      routerAs(owner()).getFunction('setSanctionsOracle')(stranger().address),
      routerIface,
      'OracleNotContract',
      [stranger().address],
    );
  });

  it('rejects a fee-on-transfer token: the merchant would get less than the invoice', async () => {
    const fot = await deployContract(owner(), FeeOnTransferTokenAbi, FeeOnTransferTokenBytecode);
    const fotAddress = await fot.getAddress();
    const amount = 1_000_000n;
    await send(fot, 'mint', payer().address, amount);
    await send(new Contract(fotAddress, FeeOnTransferTokenAbi, payer()), 'approve', routerAddress(), amount);
    const intent = await makeIntent({ token: fotAddress, amount });
    await expectRevert(
      routerAs(payer()).getFunction('pay')(intent, await sign(intent)),
      routerIface,
      'ReceivedAmountMismatch',
      [amount, amount - amount / 100n],
    );
    expect(await call(fot, 'balanceOf', payer().address)).toBe(amount);
  });

  describe('reentrancy', () => {
    async function attackerSetup(bubble: boolean) {
      const attacker = await deployContract(owner(), ReentrantRecipientAbi, ReentrantRecipientBytecode, [
        routerAddress(),
      ]);
      const attackerAddress = await attacker.getAddress();
      // The intent the attacker tries to pay from inside receive(): valid on its own.
      const inner = await makeIntent({ payer: attackerAddress, amount: parseEther('0.5') });
      await send(attacker, 'arm', inner, await sign(inner), bubble);
      const outer = await makeIntent({ recipient: attackerAddress, amount: parseEther('1') });
      return { attacker, attackerAddress, inner, outer };
    }

    it('blocks a recipient re-entering the router; the inner intent stays unpaid and valid', async () => {
      const { attacker, attackerAddress, inner, outer } = await attackerSetup(false);
      const receipt = await send(routerAs(payer()), 'pay', outer, await sign(outer), { value: outer.amount });

      expect(await call(attacker, 'reentered')).toBe(false);
      expect(await call(attacker, 'lastError')).toBe(errorSelector('ReentrancyGuardReentrantCall()'));
      expect(eventsOf(receipt, routerIface, routerAddress(), 'InvoicePaid')).toHaveLength(1);
      const innerDigest = hashIntent(chain.chainId, routerAddress(), inner);
      expect(await isUsed(innerDigest)).toBe(false);
      expect(await balance(attackerAddress)).toBe(outer.amount);

      // Outside the re-entry the same intent goes through, so the guard is what stopped it.
      await send(attacker, 'payStored');
      expect(await isUsed(innerDigest)).toBe(true);
    });

    it('fails the whole payment when the re-entering recipient bubbles the error up', async () => {
      const { attackerAddress, outer } = await attackerSetup(true);
      const failure = await revertError(
        routerAs(payer()).getFunction('pay')(outer, await sign(outer), { value: outer.amount }),
        routerIface,
      );
      expect(failure.name).toBe('NativeTransferFailed');
      expect(failure.args[0]).toBe(attackerAddress);
      expect(await isUsed(hashIntent(chain.chainId, routerAddress(), outer))).toBe(false);
    });
  });
});
