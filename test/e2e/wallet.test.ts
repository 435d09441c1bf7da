// Paying from a browser wallet, in chromium, against a real anvil: an injected EIP-1193 provider whose
// JSON-RPC goes to anvil through the test's Node side (an unlocked dev account signs), the app's own tick
// running the EVM watcher. ETH after switching and adding the chain; USDC with an EIP-2612 permit; USDT by
// approve when the wallet cannot sign typed data; a refusal in the wallet (4001); a payer that screening
// refuses (403). Each ends where a person would see it: the page.
import { join } from 'node:path';
import { Contract } from 'ethers';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PaymentScreeningOutcome, ScreeningService } from '../../src/aml/screen';
import { runTick } from '../../src/watch/tick';
import { createEvmTestEnv, type EvmTestEnv } from '../chains/evm/support';
import {
  cspViolations,
  guardThirdParty,
  launchChromium,
  plain,
  recordCspViolations,
  type Served,
  screenshotDir,
  serveApp,
  skipBrowser,
} from './browser';

let env: EvmTestEnv;
let browser: Browser;
let app: Served;
let refusedPayer = '';
let ticking = true;
let ticker: Promise<void> | undefined;
const foreign: string[][] = [];

// Screening stand-in: test/aml covers the real one; here only the refusal before signing matters.
const screening: ScreeningService = {
  screeners: [],
  refresh: async () => false,
  async screenPayer(input) {
    return { allowed: input.address.toLowerCase() !== refusedPayer.toLowerCase() };
  },
  async screenPayment(): Promise<PaymentScreeningOutcome> {
    return { risk: 'none', held: false, caseId: null, replayed: false };
  },
};

interface WalletConfig {
  readonly account: string;
  /** The chain the wallet is on at first (hex). */
  readonly startChainId: string;
  /** A method the person refuses (EIP-1193 error 4001). */
  readonly refuse?: string;
  /** Methods this wallet does not support (error 4200). */
  readonly unsupported?: readonly string[];
}

/**
 * A browser context with `window.ethereum`: account and chain handling like a wallet extension, every
 * other call forwarded to anvil by the Node side. Anvil answers with JSON-RPC errors as they are.
 */
async function walletContext(cfg: WalletConfig): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2 });
  foreign.push(await guardThirdParty(context, () => [app.base]));
  await recordCspViolations(context);
  await context.exposeFunction('__anvilRpc', async (method: string, params: unknown[]) => {
    const res = await fetch(env.anvil.rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
    });
    return (await res.json()) as { result?: unknown; error?: { code: number; message: string } };
  });
  await context.addInitScript((c: WalletConfig) => {
    type Rpc = (
      m: string,
      p: unknown[],
    ) => Promise<{ result?: unknown; error?: { code: number; message: string } }>;
    const w = window as unknown as { __anvilRpc: Rpc; __wallet: unknown; ethereum: unknown };
    const state = {
      chainId: c.startChainId,
      chains: [c.startChainId],
      added: null as unknown,
      calls: [] as string[],
    };
    const fail = (code: number, message: string) => Object.assign(new Error(message), { code });
    w.__wallet = state;
    w.ethereum = {
      async request(args: { method: string; params?: unknown[] }) {
        const { method, params = [] } = args;
        state.calls.push(method);
        if (c.refuse === method) throw fail(4001, 'User rejected the request.');
        if (c.unsupported?.includes(method)) throw fail(4200, `${method} is not supported`);
        switch (method) {
          case 'eth_requestAccounts':
          case 'eth_accounts':
            return [c.account];
          case 'eth_chainId':
            return state.chainId;
          case 'wallet_switchEthereumChain': {
            const id = (params[0] as { chainId: string }).chainId.toLowerCase();
            if (!state.chains.includes(id)) throw fail(4902, 'Unrecognized chain ID');
            state.chainId = id;
            return null;
          }
          case 'wallet_addEthereumChain': {
            const p = params[0] as { chainId: string };
            state.added = p;
            state.chains.push(p.chainId.toLowerCase());
            return null;
          }
        }
        // A wallet sends on the chain it is on: anything else is the page's mistake.
        if (state.chainId !== '0x7a69') throw fail(4901, `the wallet is on ${state.chainId}`);
        const r = await w.__anvilRpc(method, params);
        if (r.error) throw fail(r.error.code, r.error.message);
        return r.result;
      },
    };
  }, cfg);
  return context;
}

const text = async (page: Page, sel: string) => plain(await page.locator(sel).textContent());

async function openCheckout(context: BrowserContext, invoiceId: string, option: string, lang = 'en') {
  const page = await context.newPage();
  await page.goto(`${app.base}/pay/${invoiceId}?lang=${lang}&option=${encodeURIComponent(option)}`);
  await page.waitForSelector('#checkout[data-live="events"]');
  await page.waitForSelector('#wallet-pay:not([hidden])');
  return page;
}

describe.skipIf(skipBrowser)('browser-wallet payments in chromium', () => {
  beforeAll(async () => {
    browser = await launchChromium();
    env = await createEvmTestEnv({ overrides: { screening }, extraEnv: { SSE_POLL_MS: '100' } });
    refusedPayer = env.payer2.address;
    app = await serveApp(env.ctx.app.fetch);
    // The app's own tick (EVM watcher, expiry, webhooks), as the Node entry runs it.
    await runTick(env.services);
    ticker = (async () => {
      while (ticking) {
        await runTick(env.services).catch(() => {});
        await new Promise((r) => setTimeout(r, 150));
      }
    })();
  });
  afterAll(async () => {
    ticking = false;
    await ticker;
    await browser?.close();
    await app?.close();
    await env?.close();
  });

  it('pays ETH: switches the wallet to the chain (adding it first), sends the intent, paid', async () => {
    const inv = await env.invoice('15000.00', { options: ['ETH@anvil', 'USDC@anvil'] });
    const before = await env.provider.getBalance(env.payout);
    const context = await walletContext({ account: env.payer.address, startChainId: '0x1' });
    try {
      const page = await openCheckout(context, inv.id, 'ETH@anvil');
      expect(await text(page, '#wallet-pay')).toBe('Pay with a browser wallet');
      await page.screenshot({ path: join(screenshotDir(), 'checkout-wallet-en.png'), fullPage: true });
      await page.click('#wallet-pay');
      await page.waitForSelector('#status[data-phase="paid"]', { timeout: 30_000 });
      expect(await text(page, '#status-title')).toBe('Paid');
      const wallet = (await page.evaluate(() => (window as unknown as { __wallet: unknown }).__wallet)) as {
        chainId: string;
        added: { chainId: string; rpcUrls: string[]; nativeCurrency: { symbol: string } };
        calls: string[];
      };
      expect(wallet.chainId).toBe('0x7a69');
      expect(wallet.added).toMatchObject({
        chainId: '0x7a69',
        rpcUrls: [env.anvil.rpcUrl],
        nativeCurrency: { symbol: 'ETH' },
      });
      expect(wallet.calls).toEqual(
        expect.arrayContaining([
          'eth_requestAccounts',
          'wallet_switchEthereumChain',
          'wallet_addEthereumChain',
          'eth_sendTransaction',
        ]),
      );
      expect(await text(page, '#wallet-msg')).toBe('Payment sent. Waiting for the network…');
      expect(await page.locator('#wallet-tx').textContent()).toMatch(/^0x[0-9a-f]{64}$/);
      // The router forwarded the exact amount to the merchant.
      expect((await env.provider.getBalance(env.payout)) - before).toBe(inv.atomic['ETH@anvil']);
      expect((await env.load(inv.id)).status).toBe('settled');
      expect(await cspViolations(page)).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('pays USDC with an EIP-2612 permit signed in the wallet (no approve transaction)', async () => {
    const inv = await env.invoice('15000.00', { options: ['ETH@anvil', 'USDC@anvil'] });
    const usdc = env.token('USDC');
    const before = (await usdc.getFunction('balanceOf')(env.payout)) as bigint;
    const context = await walletContext({ account: env.payer.address, startChainId: '0x7a69' });
    try {
      const page = await openCheckout(context, inv.id, 'USDC@anvil', 'ru');
      expect(await text(page, '#wallet-pay')).toBe('Оплатить браузерным кошельком');
      await page.click('#wallet-pay');
      await page.waitForSelector('#status[data-phase="paid"]', { timeout: 30_000 });
      expect(await text(page, '#status-title')).toBe('Оплачено');
      const calls = await page.evaluate(
        () => (window as unknown as { __wallet: { calls: string[] } }).__wallet.calls,
      );
      expect(calls).toContain('eth_signTypedData_v4');
      expect(calls.filter((m) => m === 'eth_sendTransaction')).toHaveLength(1);
      expect(calls).not.toContain('wallet_switchEthereumChain');
      expect(((await usdc.getFunction('balanceOf')(env.payout)) as bigint) - before).toBe(
        inv.atomic['USDC@anvil'],
      );
    } finally {
      await context.close();
    }
  });

  it('pays USDT by approve first when the wallet cannot sign a permit', async () => {
    const inv = await env.invoice('15000.00', { options: ['USDT@anvil'] });
    const usdt = new Contract(
      env.deployment.addresses.usdt,
      ['function allowance(address,address) view returns (uint256)'],
      env.provider,
    );
    const context = await walletContext({
      account: env.payer.address,
      startChainId: '0x7a69',
      unsupported: ['eth_signTypedData_v4'],
    });
    try {
      const page = await openCheckout(context, inv.id, 'USDT@anvil');
      await page.click('#wallet-pay');
      await page.waitForSelector('#status[data-phase="paid"]', { timeout: 30_000 });
      const calls = await page.evaluate(
        () => (window as unknown as { __wallet: { calls: string[] } }).__wallet.calls,
      );
      // approve, its receipt, then the payment.
      expect(calls.filter((m) => m === 'eth_sendTransaction')).toHaveLength(2);
      expect(calls).toContain('eth_getTransactionReceipt');
      // The router spent exactly what was approved.
      expect(await usdt.getFunction('allowance')(env.payer.address, env.deployment.addresses.router)).toBe(
        0n,
      );
    } finally {
      await context.close();
    }
  });

  it('says so plainly when the person refuses in the wallet, and sends nothing', async () => {
    const inv = await env.invoice('15000.00', { options: ['ETH@anvil'] });
    const context = await walletContext({
      account: env.payer.address,
      startChainId: '0x7a69',
      refuse: 'eth_sendTransaction',
    });
    try {
      const page = await openCheckout(context, inv.id, 'ETH@anvil', 'kk');
      await page.click('#wallet-pay');
      await page.waitForSelector('#wallet-msg[data-state="error"]');
      expect(await text(page, '#wallet-msg')).toBe(
        'Сіз әмиянда сұранысты болдырмадыңыз. Ештеңе жіберілген жоқ.',
      );
      // The button is usable again, and the invoice still waits.
      expect(await page.locator('#wallet-pay').isEnabled()).toBe(true);
      expect(await page.getAttribute('#status', 'data-phase')).toBe('waiting');
      expect((await env.load(inv.id)).payments).toHaveLength(0);
    } finally {
      await context.close();
    }
  });

  it('tells a payer that screening refuses to use another wallet, without saying why', async () => {
    const inv = await env.invoice('15000.00', { options: ['ETH@anvil'] });
    const context = await walletContext({ account: env.payer2.address, startChainId: '0x7a69' });
    try {
      const page = await openCheckout(context, inv.id, 'ETH@anvil');
      const [res] = await Promise.all([
        page.waitForResponse((r) => r.url().endsWith('/intents')),
        page.click('#wallet-pay'),
      ]);
      expect(res.status()).toBe(403);
      await page.waitForSelector('#wallet-msg[data-state="error"]');
      expect(await text(page, '#wallet-msg')).toBe(
        'This wallet cannot pay this invoice. Please pay from another wallet.',
      );
      const calls = await page.evaluate(
        () => (window as unknown as { __wallet: { calls: string[] } }).__wallet.calls,
      );
      expect(calls).not.toContain('eth_sendTransaction');
    } finally {
      await context.close();
    }
  });

  it('requested nothing from another host', () => {
    expect(foreign.flat()).toEqual([]);
  });
});
