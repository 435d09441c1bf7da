import { HDNodeWallet, parseEther } from 'ethers';
import { describe, expect, it } from 'vitest';
import { ANVIL_KEYS } from '../../sandbox/anvil';
import {
  ANVIL_DEFAULT_CHAIN_ID,
  ANVIL_MNEMONIC,
  anvilAccount,
  revertTo,
  snapshot,
  startAnvil,
} from '../helpers/anvil';

async function rpcChainId(rpcUrl: string): Promise<string | null> {
  try {
    const res = await fetch(rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
    });
    return ((await res.json()) as { result: string }).result;
  } catch {
    return null;
  }
}

describe('test/helpers/anvil', () => {
  it("knows the keys of anvil's ten accounts: those its mnemonic derives", () => {
    expect(ANVIL_KEYS).toHaveLength(10);
    for (const [i, key] of ANVIL_KEYS.entries()) {
      expect(key).toBe(HDNodeWallet.fromPhrase(ANVIL_MNEMONIC, undefined, `m/44'/60'/0'/0/${i}`).privateKey);
    }
    expect(anvilAccount(10).privateKey).toBe(
      HDNodeWallet.fromPhrase(ANVIL_MNEMONIC, undefined, "m/44'/60'/0'/0/10").privateKey,
    );
  });

  it('starts anvil on a free local port with the default chain id and funded default accounts', async () => {
    const anvil = await startAnvil();
    try {
      expect(anvil.rpcUrl).toBe(`http://127.0.0.1:${anvil.port}`);
      expect(await rpcChainId(anvil.rpcUrl)).toBe(`0x${ANVIL_DEFAULT_CHAIN_ID.toString(16)}`);
      expect((await anvil.provider.getNetwork()).chainId).toBe(31337n);
      const first = anvilAccount(0, anvil.provider);
      expect(first.address.toLowerCase()).toBe('0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266');
      // The wallets we derive are the accounts anvil funds and unlocks.
      const nodeAccounts = ((await anvil.provider.send('eth_accounts', [])) as string[]).map((a) =>
        a.toLowerCase(),
      );
      const derived = [0, 1, 2].map((i) => anvilAccount(i).address.toLowerCase());
      expect(nodeAccounts.slice(0, 3)).toEqual(derived);
      expect(await anvil.provider.getBalance(first.address)).toBe(parseEther('10000'));
    } finally {
      await anvil.stop();
    }
    expect(await rpcChainId(anvil.rpcUrl)).toBeNull();
  });

  it('honours a custom chain id, runs two nodes side by side, and reverts snapshots', async () => {
    const [a, b] = await Promise.all([startAnvil({ chainId: 1337, blockTime: 1 }), startAnvil()]);
    try {
      expect(a.port).not.toBe(b.port);
      expect(await rpcChainId(a.rpcUrl)).toBe('0x539');
      const sender = anvilAccount(1, b.provider);
      const receiver = anvilAccount(2).address;
      const id = await snapshot(b.provider);
      await (await sender.sendTransaction({ to: receiver, value: 1n })).wait();
      expect(await b.provider.getBalance(receiver)).toBe(parseEther('10000') + 1n);
      await revertTo(b.provider, id);
      expect(await b.provider.getBalance(receiver)).toBe(parseEther('10000'));
      await expect(revertTo(b.provider, id)).rejects.toThrow(/evm_revert/);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});
