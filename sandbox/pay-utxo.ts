// `npm run sandbox:pay -- <invoiceId> --option LTC@litecoin-regtest [--amount X] [--rbf] [--mine N]`:
// pays an invoice from the sandbox node's wallet, to the address the checkout shows, the amount
// still due unless --amount says otherwise (partial or over). --rbf signals BIP125 replaceability;
// --mine N mines N blocks afterwards. `npm run sandbox:pay -- mine [N]` only mines.
// Runs on its own too: `npx tsx sandbox/pay-utxo.ts <invoiceId> --option LTC@litecoin-regtest`.

import { pathToFileURL } from 'node:url';
import { parseOption } from '../src/chains/networks';
import { createRpcClient, type RpcClient } from '../src/chains/utxo/backends/rpc';
import { readSandboxUtxo } from '../src/chains/utxo/backends/sandbox-file';
import { isUtxoNetwork, type UtxoNetworkId } from '../src/chains/utxo/params';
import { formatUnits, parseUnits } from '../src/lib/money';
import { fetchGateway, gatewayUrl } from './gateway';
import { mine } from './litecoin';

export interface PayUtxoOptions {
  readonly invoiceId: string;
  readonly option: string;
  /** Decimal amount in coins; default: the amount still due. */
  readonly amount?: string;
  readonly rbf?: boolean;
  /** Blocks to mine after paying (default 0). */
  readonly mine?: number;
  readonly gatewayUrl?: string;
  readonly dataDir?: string;
  readonly fetchImpl?: typeof fetch;
}

export interface PayUtxoResult {
  readonly txid: string;
  readonly address: string;
  readonly amountAtomic: bigint;
  readonly mined: readonly string[];
}

interface CheckoutOption {
  readonly option: string;
  readonly address: string;
  readonly amountDueAtomic: string;
  readonly decimals: number;
}

/** The sandbox node of `network` and its funded wallet, from DATA_DIR/sandbox.json. */
export function sandboxNode(network: UtxoNetworkId, dataDir?: string): { rpc: RpcClient; wallet: RpcClient } {
  const rec = readSandboxUtxo(dataDir ?? process.env['DATA_DIR'] ?? '.data')[network];
  if (!rec) throw new Error(`no ${network} node recorded: run \`npm run sandbox\` first (needs litecoind)`);
  const rpc = createRpcClient({ url: rec.rpcUrl, timeoutMs: 30_000 });
  return { rpc, wallet: rpc.withPath(`/wallet/${encodeURIComponent(rec.wallet)}`) };
}

export async function payUtxo(opts: PayUtxoOptions): Promise<PayUtxoResult> {
  const id = parseOption(opts.option);
  if (!id || !isUtxoNetwork(id.network))
    throw new Error(`--option must be a UTXO option such as LTC@litecoin-regtest`);
  const { rpc, wallet } = sandboxNode(id.network, opts.dataDir);
  const gateway = (opts.gatewayUrl ?? gatewayUrl()).replace(/\/+$/, '');
  const url = `${gateway}/v1/checkout/${encodeURIComponent(opts.invoiceId)}`;
  const res = await fetchGateway(opts.fetchImpl ?? fetch, url);
  const text = await res.text();
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status} ${text.slice(0, 300)}`);
  const checkout = JSON.parse(text) as { paymentOptions: CheckoutOption[] };
  const o = checkout.paymentOptions.find((x) => x.option === id.option);
  if (!o) throw new Error(`invoice ${opts.invoiceId} has no ${id.option} option`);
  const amountAtomic =
    opts.amount !== undefined ? parseUnits(opts.amount, o.decimals) : BigInt(o.amountDueAtomic);
  if (amountAtomic <= 0n) throw new Error('nothing is due on this invoice; pass --amount to pay anyway');
  const txid = await wallet.call<string>('sendtoaddress', {
    address: o.address,
    amount: formatUnits(amountAtomic, o.decimals),
    replaceable: opts.rbf ?? false,
  });
  const mined = opts.mine ? await mine(rpc, wallet, opts.mine) : [];
  return { txid, address: o.address, amountAtomic, mined };
}

const USAGE =
  'usage: sandbox:pay -- <invoiceId> --option LTC@litecoin-regtest [--amount X] [--rbf] [--mine N]\n' +
  '       sandbox:pay -- mine [N]';

export function parsePayUtxoArgs(argv: readonly string[]): PayUtxoOptions {
  let invoiceId: string | undefined;
  const o: { -readonly [K in keyof PayUtxoOptions]?: PayUtxoOptions[K] } = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value\n${USAGE}`);
      return v;
    };
    if (a === '--option') o.option = value();
    else if (a === '--amount') o.amount = value();
    else if (a === '--rbf') o.rbf = true;
    else if (a === '--mine') {
      const n = Number(value());
      if (!Number.isInteger(n) || n < 0 || n > 1000)
        throw new Error(`--mine is a number of blocks\n${USAGE}`);
      o.mine = n;
    } else if (a === '--gateway') o.gatewayUrl = value();
    else if (!a.startsWith('--') && invoiceId === undefined) invoiceId = a;
    else throw new Error(`unknown argument ${a}\n${USAGE}`);
  }
  if (!invoiceId || !o.option) throw new Error(USAGE);
  return { ...o, invoiceId, option: o.option };
}

/** The CLI: prints what it sent; returns the exit code. */
export async function runPayUtxoCli(argv: readonly string[]): Promise<number> {
  try {
    if (argv[0] === 'mine') {
      const n = argv[1] === undefined ? 1 : Number(argv[1]);
      if (!Number.isInteger(n) || n < 1 || n > 1000) throw new Error(USAGE);
      const { rpc, wallet } = sandboxNode('litecoin-regtest');
      const hashes = await mine(rpc, wallet, n);
      console.log(`mined ${hashes.length} block(s) on litecoin-regtest, tip ${hashes[hashes.length - 1]}`);
      return 0;
    }
    const r = await payUtxo(parsePayUtxoArgs(argv));
    console.log(`paid ${formatUnits(r.amountAtomic, 8)} to ${r.address}\n  tx ${r.txid}`);
    if (r.mined.length) console.log(`  mined ${r.mined.length} block(s)`);
    return 0;
  } catch (err) {
    console.error((err as Error).message);
    return 1;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runPayUtxoCli(process.argv.slice(2)).then((code) => process.exit(code));
}
