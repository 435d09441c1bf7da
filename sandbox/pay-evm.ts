// `npm run sandbox:pay -- <invoiceId> --option ETH@anvil|USDC@anvil|USDT@anvil [--amount X]
//   [--via deposit|router] [--payer 1..5] [--approve]`: pays an invoice on the sandbox anvil chain from
// a funded payer account. `deposit` (default) sends to the invoice's deposit address, as a QR-code
// wallet would; `router` asks the gateway for a signed intent (POST /v1/checkout/{id}/intents) and
// submits it, as a browser wallet would; tokens then use an EIP-2612 permit (or approve with --approve).
// Runs on its own too: `npx tsx sandbox/pay-evm.ts <invoiceId> --option ETH@anvil`.

import { pathToFileURL } from 'node:url';
import { Contract, JsonRpcProvider, parseUnits, type TransactionReceipt, type Wallet } from 'ethers';
import { TestTokenAbi } from '../contracts/generated/index';
import { readSandboxEvm } from '../src/chains/evm/sandbox-file';
import { parseOption } from '../src/chains/networks';
import { anvilAccount } from './anvil';
import { PAYER_INDEXES } from './evm';
import { fetchGateway, gatewayUrl } from './gateway';

export interface PayEvmOptions {
  readonly invoiceId: string;
  readonly option: string;
  /** Decimal amount in asset units; default: the amount still due. */
  readonly amount?: string;
  readonly via?: 'deposit' | 'router';
  /** anvil account index of the payer (default 1). */
  readonly payer?: number;
  /** Router token payments: approve then pay, instead of a permit. */
  readonly approve?: boolean;
  /** The gateway (for the checkout data and intents); default as `npm start` serves it (sandbox/gateway.ts). */
  readonly gatewayUrl?: string;
  readonly dataDir?: string;
  /** The RPC URL; default the one in sandbox.json. */
  readonly rpcUrl?: string;
  readonly fetchImpl?: typeof fetch;
}

export interface PayEvmResult {
  readonly txid: string;
  readonly blockNumber: number;
  readonly amountAtomic: bigint;
  readonly to: string;
  readonly via: 'deposit' | 'router';
  /** Router token payments with --approve: the approve transaction sent first. */
  readonly approvalTxid?: string;
}

interface CheckoutOption {
  option: string;
  address: string;
  amountDueAtomic: string;
  decimals: number;
  details: { tokenAddress?: string; routerAddress?: string };
}

interface IntentAnswer {
  to: string;
  data: string;
  value: string;
  intent: { amount: string };
  approval?: { needed: boolean | null; to: string; data: string };
  permit?: {
    domain: Record<string, unknown>;
    types: Record<string, { name: string; type: string }[]>;
    message: Record<string, string>;
  };
}

async function gatewayJson<T>(f: typeof fetch, url: string, body?: unknown): Promise<T> {
  const res = await fetchGateway(f, url, {
    method: body === undefined ? 'GET' : 'POST',
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status} ${text.slice(0, 300)}`);
  return JSON.parse(text) as T;
}

async function mined(tx: {
  wait(): Promise<TransactionReceipt | null>;
  hash: string;
}): Promise<TransactionReceipt> {
  const r = await tx.wait();
  if (r?.status !== 1) throw new Error(`transaction ${tx.hash} failed`);
  return r;
}

export async function payEvm(opts: PayEvmOptions): Promise<PayEvmResult> {
  const f = opts.fetchImpl ?? fetch;
  const id = parseOption(opts.option);
  if (id?.network !== 'anvil') throw new Error(`--option must be ETH@anvil, USDC@anvil or USDT@anvil`);
  const rec = opts.rpcUrl ? undefined : readSandboxEvm(opts.dataDir ?? process.env['DATA_DIR'] ?? '.data');
  const rpcUrl = opts.rpcUrl ?? rec?.rpcUrl;
  if (!rpcUrl) throw new Error('no sandbox chain recorded: run `npm run sandbox` first');
  const gateway = (opts.gatewayUrl ?? gatewayUrl()).replace(/\/+$/, '');
  const via = opts.via ?? 'deposit';
  const payerIndex = opts.payer ?? PAYER_INDEXES[0];

  const checkout = await gatewayJson<{ status: string; paymentOptions: CheckoutOption[] }>(
    f,
    `${gateway}/v1/checkout/${encodeURIComponent(opts.invoiceId)}`,
  );
  const o = checkout.paymentOptions.find((x) => x.option === id.option);
  if (!o) throw new Error(`invoice ${opts.invoiceId} has no ${id.option} option`);
  const provider = new JsonRpcProvider(rpcUrl, undefined, { cacheTimeout: -1, pollingInterval: 100 });
  try {
    const wallet: Wallet = anvilAccount(payerIndex, provider);
    const token = o.details.tokenAddress;
    if (via === 'deposit') {
      const amount =
        opts.amount !== undefined ? parseUnits(opts.amount, o.decimals) : BigInt(o.amountDueAtomic);
      if (amount <= 0n) throw new Error('nothing is due on this invoice; pass --amount to pay anyway');
      const tx = token
        ? await new Contract(token, TestTokenAbi, wallet).getFunction('transfer')(o.address, amount)
        : await wallet.sendTransaction({ to: o.address, value: amount });
      const r = await mined(tx);
      return { txid: r.hash, blockNumber: r.blockNumber, amountAtomic: amount, to: o.address, via };
    }

    if (opts.amount !== undefined)
      throw new Error('--amount applies to --via deposit: an intent is for the amount due');
    const url = `${gateway}/v1/checkout/${encodeURIComponent(opts.invoiceId)}/intents`;
    let answer = await gatewayJson<IntentAnswer>(f, url, { option: id.option, payer: wallet.address });
    let approvalTxid: string | undefined;
    if (token && opts.approve) {
      if (answer.approval?.needed !== false) {
        const r = await mined(
          await wallet.sendTransaction({ to: answer.approval!.to, data: answer.approval!.data }),
        );
        approvalTxid = r.hash;
      }
    } else if (token) {
      if (!answer.permit) throw new Error('the gateway offered no permit for this token; use --approve');
      const { EIP712Domain: _, ...types } = answer.permit.types;
      const signature = await wallet.signTypedData(answer.permit.domain, types, answer.permit.message);
      answer = await gatewayJson<IntentAnswer>(f, url, {
        option: id.option,
        payer: wallet.address,
        permit: {
          deadline: answer.permit.message['deadline'],
          signature,
          value: answer.permit.message['value'],
        },
      });
    }
    const r = await mined(
      await wallet.sendTransaction({ to: answer.to, data: answer.data, value: BigInt(answer.value) }),
    );
    return {
      txid: r.hash,
      blockNumber: r.blockNumber,
      amountAtomic: BigInt(answer.intent.amount),
      to: answer.to,
      via,
      ...(approvalTxid ? { approvalTxid } : {}),
    };
  } finally {
    provider.destroy();
  }
}

/** Parses the CLI arguments; throws with a usage line on a bad one. */
export function parsePayEvmArgs(argv: readonly string[]): PayEvmOptions {
  const usage =
    'usage: sandbox:pay -- <invoiceId> --option ETH@anvil|USDC@anvil|USDT@anvil [--amount X] ' +
    '[--via deposit|router] [--payer 1-5] [--approve]';
  let invoiceId: string | undefined;
  const o: { -readonly [K in keyof PayEvmOptions]?: PayEvmOptions[K] } = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value\n${usage}`);
      return v;
    };
    if (a === '--option') o.option = value();
    else if (a === '--amount') o.amount = value();
    else if (a === '--via') {
      const v = value();
      if (v !== 'deposit' && v !== 'router') throw new Error(`--via is deposit or router\n${usage}`);
      o.via = v;
    } else if (a === '--payer') {
      const n = Number(value());
      if (!(PAYER_INDEXES as readonly number[]).includes(n))
        throw new Error(`--payer is one of ${PAYER_INDEXES.join(', ')}`);
      o.payer = n;
    } else if (a === '--approve') o.approve = true;
    else if (a === '--gateway') o.gatewayUrl = value();
    else if (!a.startsWith('--') && invoiceId === undefined) invoiceId = a;
    else throw new Error(`unknown argument ${a}\n${usage}`);
  }
  if (!invoiceId || !o.option) throw new Error(usage);
  return { ...o, invoiceId, option: o.option };
}

/** The CLI: prints what it sent; returns the exit code. */
export async function runPayEvmCli(argv: readonly string[]): Promise<number> {
  try {
    const r = await payEvm(parsePayEvmArgs(argv));
    if (r.approvalTxid) console.log(`approve: ${r.approvalTxid}`);
    console.log(
      `paid ${r.amountAtomic} (atomic units) via ${r.via} to ${r.to}\n  tx ${r.txid} in block ${r.blockNumber}`,
    );
    return 0;
  } catch (err) {
    console.error((err as Error).message);
    return 1;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runPayEvmCli(process.argv.slice(2)).then((code) => process.exit(code));
}
