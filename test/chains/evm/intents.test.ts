// POST /v1/checkout/{id}/intents and the router path end to end: the gateway signs, the payer's wallet
// sends, the watcher credits the InvoicePaid event — in ETH, in USDC after approve, in USDC with an
// EIP-2612 permit — and the refusals: a payer that screening rejects (nothing signed), an invoice
// that no longer takes payments, an option that is not the invoice's.
import { Contract, getAddress, Signature, verifyTypedData, ZeroAddress } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INTENT_TYPES, routerDomain } from '../../../contracts/intent';
import type { PaymentScreeningOutcome, ScreeningService } from '../../../src/aml/screen';
import { invoiceKey } from '../../../src/chains/evm/deposit';
import type { IntentSigner } from '../../../src/chains/evm/intents';
import { jsonRequest } from '../../helpers/services';
import { createEvmTestEnv, type EvmTestEnv } from './support';

interface IntentBody {
  chainId: number;
  to: string;
  data: string;
  value: string;
  deadline: string;
  intent: {
    invoiceId: string;
    payer: string;
    token: string;
    amount: string;
    recipient: string;
    deadline: string;
  };
  signature: string;
  approval?: { needed: boolean | null; allowance: string | null; to: string; data: string; amount: string };
  permit?: {
    domain: Record<string, unknown>;
    types: Record<string, { name: string; type: string }[]>;
    primaryType: string;
    message: Record<string, string>;
  };
}

describe('payment intents and the router', () => {
  let env: EvmTestEnv;
  let tick: () => Promise<unknown>;
  let allowPayers = true;
  const screenedPayers: string[] = [];
  const signed: unknown[] = [];
  // Screening stand-in: the AML engineer's service is exercised in test/aml; here only the hook matters.
  const screening: ScreeningService = {
    screeners: [],
    refresh: async () => false,
    async screenPayer(input) {
      screenedPayers.push(input.address);
      return { allowed: allowPayers };
    },
    async screenPayment(): Promise<PaymentScreeningOutcome> {
      return { risk: 'none', held: false, caseId: null, replayed: false };
    },
  };

  const post = (id: string, body: unknown) =>
    env.ctx.app.request(`/v1/checkout/${id}/intents`, jsonRequest(undefined, body));
  const ask = async (id: string, body: unknown): Promise<IntentBody> => {
    const res = await post(id, body);
    expect(res.status, await res.clone().text()).toBe(200);
    return (await res.json()) as IntentBody;
  };

  beforeAll(async () => {
    env = await createEvmTestEnv({ overrides: { screening } });
    // Count every signature the gateway makes.
    const evm = env.services.evm!;
    const real = evm.signer!;
    const spy: IntentSigner = {
      address: real.address,
      sign: async (...args) => {
        signed.push(args);
        return real.sign(...args);
      },
    };
    Object.assign(evm, { signer: spy });
    const w = env.watcher({ holder: 'intents' });
    tick = () => w.tick();
    await tick();
  });
  afterAll(async () => {
    await env?.close();
  });

  it('pays ETH through the router with the signed intent and is credited from InvoicePaid', async () => {
    const inv = await env.invoice();
    const before = await env.provider.getBalance(env.payout);
    const res = await ask(inv.id, { option: 'ETH@anvil', payer: env.payer.address.toLowerCase() });
    expect(res).toMatchObject({
      chainId: 31337,
      to: env.deployment.addresses.router,
      value: inv.atomic['ETH@anvil']!.toString(),
      intent: {
        invoiceId: invoiceKey(inv.id),
        payer: env.payer.address,
        token: ZeroAddress,
        amount: inv.atomic['ETH@anvil']!.toString(),
        recipient: getAddress(env.payout),
      },
    });
    expect(res.approval).toBeUndefined();
    expect(res.permit).toBeUndefined();
    // The signature is the gateway key's over the router's EIP-712 domain.
    const recovered = verifyTypedData(
      routerDomain(31337, env.deployment.addresses.router),
      INTENT_TYPES,
      { ...res.intent, amount: BigInt(res.intent.amount), deadline: BigInt(res.intent.deadline) },
      res.signature,
    );
    expect(recovered).toBe(env.signer.address);
    const inv0 = await env.load(inv.id);
    const deadline = Number(res.intent.deadline) * 1000;
    expect(deadline).toBeLessThanOrEqual(inv0.expiresAt.getTime());
    expect(deadline).toBeLessThanOrEqual(Date.now() + 15 * 60_000);
    expect(res.deadline).toBe(new Date(deadline).toISOString());

    const tx = await env.payer.sendTransaction({ to: res.to, data: res.data, value: BigInt(res.value) });
    const receipt = await tx.wait();
    await tick();
    const i = await env.load(inv.id);
    expect(i.status).toBe('settled');
    expect(i.payments).toHaveLength(1);
    expect(i.payments[0]).toMatchObject({
      option: 'ETH@anvil',
      txid: receipt!.hash,
      fromAddresses: [env.payer.address],
    });
    expect(i.payments[0]!.outputIndex).toBeGreaterThanOrEqual(0);
    // Straight to the merchant: nothing waits at the deposit address.
    expect((await env.provider.getBalance(env.payout)) - before).toBe(inv.atomic['ETH@anvil']);
    expect(await env.provider.getBalance(inv.address)).toBe(0n);
  });

  it('pays USDC through the router after an approve transaction', async () => {
    const inv = await env.invoice();
    const res = await ask(inv.id, { option: 'USDC@anvil', payer: env.payer.address });
    const amount = inv.atomic['USDC@anvil']!;
    expect(res.value).toBe('0');
    expect(res.approval).toMatchObject({
      to: env.deployment.addresses.usdc,
      amount: amount.toString(),
      allowance: '0',
      needed: true,
    });
    await (await env.payer.sendTransaction({ to: res.approval!.to, data: res.approval!.data })).wait();
    // Asked again, the allowance is now enough.
    const again = await ask(inv.id, { option: 'USDC@anvil', payer: env.payer.address });
    expect(again.approval).toMatchObject({ allowance: amount.toString(), needed: false });
    await (await env.payer.sendTransaction({ to: again.to, data: again.data })).wait();
    await tick();
    const i = await env.load(inv.id);
    expect(i.status).toBe('settled');
    expect(i.payments).toHaveLength(1);
    expect(i.payments[0]!.option).toBe('USDC@anvil');
    expect(await env.token('USDC').getFunction('balanceOf')(env.payout)).toBe(amount);
  });

  it('pays USDC through the router with an EIP-2612 permit instead of an approve', async () => {
    const inv = await env.invoice();
    const amount = inv.atomic['USDC@anvil']!;
    const before = (await env.token('USDC').getFunction('balanceOf')(env.payout)) as bigint;
    const first = await ask(inv.id, { option: 'USDC@anvil', payer: env.payer2.address });
    expect(first.permit).toBeDefined();
    expect(first.permit!.message).toMatchObject({
      owner: env.payer2.address,
      spender: env.deployment.addresses.router,
      value: amount.toString(),
      nonce: '0',
    });
    const { EIP712Domain: _, ...types } = first.permit!.types;
    const sig = await env.payer2.signTypedData(first.permit!.domain, types, first.permit!.message);
    const permit = { deadline: first.permit!.message['deadline']!, signature: sig, value: amount.toString() };
    const res = await ask(inv.id, { option: 'USDC@anvil', payer: env.payer2.address, permit });
    expect(res.data.slice(0, 10)).not.toBe(first.data.slice(0, 10)); // payWithPermit, not pay
    expect(res.approval).toBeUndefined();
    const tx = await env.payer2.sendTransaction({ to: res.to, data: res.data });
    expect((await tx.wait())!.status).toBe(1);
    await tick();
    const i = await env.load(inv.id);
    expect(i.status).toBe('settled');
    expect(i.payments[0]).toMatchObject({ option: 'USDC@anvil', fromAddresses: [env.payer2.address] });
    expect((await env.token('USDC').getFunction('balanceOf')(env.payout)) - before).toBe(amount);
    // A permit for another amount is refused before anything is signed.
    const inv2 = await env.invoice();
    const n = signed.length;
    const stale = await post(inv2.id, {
      option: 'USDC@anvil',
      payer: env.payer2.address,
      permit: { ...permit, value: '1' },
    });
    expect(stale.status).toBe(409);
    expect((await stale.json()).code).toBe('amount_changed');
    expect(signed.length).toBe(n);
    expect(Signature.from(sig).v).toBeGreaterThan(26);
  });

  it('signs the remainder after a partial payment', async () => {
    const inv = await env.invoice();
    await env.payToken('USDC', inv.address, inv.atomic['USDC@anvil']! / 4n);
    await tick();
    expect((await env.load(inv.id)).additionalStatus).toBe('paid_partial');
    const res = await ask(inv.id, { option: 'ETH@anvil', payer: env.payer.address });
    expect(BigInt(res.intent.amount)).toBe((inv.atomic['ETH@anvil']! * 3n) / 4n);
    await (await env.payer.sendTransaction({ to: res.to, data: res.data, value: BigInt(res.value) })).wait();
    await tick();
    const i = await env.load(inv.id);
    expect(i).toMatchObject({ status: 'settled', additionalStatus: 'none', amountPaidTiyn: inv.amountTiyn });
  });

  it('refuses a payer that screening rejects with 403 payer_rejected, and signs nothing', async () => {
    const inv = await env.invoice();
    const n = signed.length;
    allowPayers = false;
    try {
      const res = await post(inv.id, { option: 'ETH@anvil', payer: env.payer2.address });
      expect(res.status).toBe(403);
      const body = (await res.json()) as Record<string, unknown>;
      expect(body['code']).toBe('payer_rejected');
      expect(body).not.toHaveProperty('signature');
      expect(JSON.stringify(body)).not.toMatch(/sanction|list|ofac/i);
    } finally {
      allowPayers = true;
    }
    expect(signed.length).toBe(n);
    expect(screenedPayers.at(-1)).toBe(env.payer2.address);
  });

  it('answers 409 for an invoice that is settled or expired', async () => {
    const settled = await env.invoice();
    await env.payNative(settled.address, settled.atomic['ETH@anvil']!);
    await tick();
    expect((await env.load(settled.id)).status).toBe('settled');
    const n = screenedPayers.length;
    let res = await post(settled.id, { option: 'ETH@anvil', payer: env.payer.address });
    expect(res.status).toBe(409);
    expect((await res.json()).code).toBe('invoice_not_payable');

    const expired = await env.invoice();
    await env.ctx.db
      .sql`update invoices set expires_at = ${new Date(Date.now() - 1000)} where id = ${expired.id}`;
    res = await post(expired.id, { option: 'USDC@anvil', payer: env.payer.address });
    expect(res.status).toBe(409);
    expect((await res.json()).code).toBe('invoice_not_payable');
    expect(screenedPayers.length).toBe(n); // refused before screening
  });

  it('answers 422 for an option the invoice does not have, a bad payer, or a permit for the coin', async () => {
    const inv = await env.invoice('15000.00', { options: ['ETH@anvil'] });
    const n = signed.length;
    for (const option of ['USDC@anvil', 'ETH@ethereum-sepolia', 'BTC@bitcoin-regtest', 'nonsense']) {
      const res = await post(inv.id, { option, payer: env.payer.address });
      expect(res.status, option).toBe(422);
      const body = (await res.json()) as { code: string; errors: { path: string }[] };
      expect(body.code).toBe('option_unavailable');
      expect(body.errors[0]!.path).toBe('option');
    }
    // A mixed-case address with a wrong checksum, and other malformed payers.
    const a = env.payer.address;
    const letter = [...a].findIndex((ch, k) => k > 1 && /[a-fA-F]/.test(ch));
    const flipped =
      a[letter] === a[letter]!.toLowerCase() ? a[letter]!.toUpperCase() : a[letter]!.toLowerCase();
    const bad = `${a.slice(0, letter)}${flipped}${a.slice(letter + 1)}`;
    for (const payer of [bad, '0x1234', 'not an address', 42]) {
      const res = await post(inv.id, { option: 'ETH@anvil', payer });
      expect(res.status, String(payer)).toBe(422);
      expect(((await res.json()) as { errors: { path: string }[] }).errors[0]!.path).toBe('payer');
    }
    const extra = await post(inv.id, { option: 'ETH@anvil', payer: env.payer.address, tip: 1 });
    expect(extra.status).toBe(422);
    const permit = await post(inv.id, {
      option: 'ETH@anvil',
      payer: env.payer.address,
      permit: { deadline: '1', signature: `0x${'11'.repeat(65)}` },
    });
    expect(permit.status).toBe(422);
    expect(signed.length).toBe(n);
    const missing = await post('inv_doesnotexist', { option: 'ETH@anvil', payer: env.payer.address });
    expect(missing.status).toBe(404);
  });

  it('lets only the named payer use an intent (the router checks msg.sender)', async () => {
    const inv = await env.invoice();
    const res = await ask(inv.id, { option: 'ETH@anvil', payer: env.payer.address });
    const router = new Contract(res.to, [
      'function pay((bytes32,address,address,uint256,address,uint256),bytes) payable',
    ]);
    await expect(
      env.payer2.sendTransaction({ to: res.to, data: res.data, value: BigInt(res.value) }),
    ).rejects.toThrow();
    expect(router.interface.getFunction('pay')!.selector).toBe(res.data.slice(0, 10));
  });
});
