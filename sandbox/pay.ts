// `npm run sandbox:pay -- <invoiceId> [--option ASSET@network] [--amount X] …`: pays an invoice from
// a funded sandbox wallet, on whichever sandbox chain the option names (without --option: the
// invoice's first option on a chain the sandbox runs). Each chain's own flags: sandbox/pay-utxo.ts
// (--rbf, --mine N; `mine [N]` alone mines) and sandbox/pay-evm.ts (--via, --payer, --approve).

import { readSandboxEvm } from '../src/chains/evm/sandbox-file';
import { NETWORKS, parseOption } from '../src/chains/networks';
import { sandboxEndpointsLive } from '../src/chains/sandbox-owner';
import { readSandboxUtxo } from '../src/chains/utxo/backends/sandbox-file';
import { fetchGateway, gatewayUrl } from './gateway';
import { mine } from './litecoin';
import { runPayEvmCli } from './pay-evm';
import { runPayUtxoCli, sandboxNode } from './pay-utxo';

async function defaultOption(invoiceId: string): Promise<string> {
  const dataDir = process.env['DATA_DIR'] || '.data';
  // Chains whose recorded owner (npm start or npm run sandbox) still runs.
  const live = sandboxEndpointsLive(dataDir);
  const running = new Set<string>(live ? Object.keys(readSandboxUtxo(dataDir)) : []);
  if (live && readSandboxEvm(dataDir)) running.add('anvil');
  const url = `${gatewayUrl()}/v1/checkout/${encodeURIComponent(invoiceId)}`;
  const res = await fetchGateway(fetch, url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status} ${(await res.text()).slice(0, 300)}`);
  const { paymentOptions } = (await res.json()) as { paymentOptions: { option: string; network: string }[] };
  const o = paymentOptions.find((x) => running.has(x.network));
  if (o) return o.option;
  if (running.size === 0) {
    throw new Error(
      `no sandbox chain runs for DATA_DIR=${dataDir}: \`npm start\` (sandbox mode) starts them, or \`npm run sandbox\``,
    );
  }
  throw new Error(
    `invoice ${invoiceId} has no option on a running sandbox chain (its options: ${paymentOptions.map((x) => x.option).join(', ') || 'none'}; running: ${[...running].join(', ')})`,
  );
}

interface CheckoutState {
  status: string;
  payments: { option: string; confirmations: number; confirmationsRequired: number; status: string }[];
}

/**
 * The newcomer's path (no --option): after paying, mines the blocks the merchant's speed policy still
 * needs on the UTXO chain and waits until the gateway settles the invoice, so the next command sees
 * `settled`. An invoice that ends otherwise (expired, underpaid) is reported as it is.
 */
async function followToSettled(invoiceId: string, timeoutMs = 120_000): Promise<number> {
  const url = `${gatewayUrl()}/v1/checkout/${encodeURIComponent(invoiceId)}`;
  const until = Date.now() + timeoutMs;
  const minedFor = new Set<string>();
  let last = '';
  while (Date.now() < until) {
    const res = await fetchGateway(fetch, url);
    if (!res.ok) throw new Error(`${url}: HTTP ${res.status} ${(await res.text()).slice(0, 300)}`);
    const s = (await res.json()) as CheckoutState;
    if (s.status !== last) console.log(`  invoice ${invoiceId}: ${s.status}`);
    last = s.status;
    if (s.status === 'settled') {
      await followWebhook(invoiceId);
      return 0;
    }
    if (s.status === 'expired' || s.status === 'invalid') return 1;
    for (const p of s.payments) {
      const id = parseOption(p.option);
      const missing = p.confirmationsRequired - p.confirmations;
      if (!id || NETWORKS[id.network].family !== 'utxo' || missing <= 0 || minedFor.has(p.option)) continue;
      if (id.network !== 'litecoin-regtest') continue;
      const { rpc, wallet } = sandboxNode(id.network);
      await mine(rpc, wallet, missing);
      minedFor.add(p.option);
      console.log(
        `  mined ${missing} block(s) on ${id.network} (the merchant's speed policy needs ${p.confirmationsRequired})`,
      );
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  console.error(`invoice ${invoiceId} is still ${last} after ${timeoutMs / 1000} s; see ${url}`);
  return 1;
}

/**
 * Once settled, waits for the invoice.settled webhook to reach the gateway's sandbox receiver (where
 * the demo merchant's webhooks go), so README step 4 shows it on the first try: delivery runs in its
 * own loop, a moment behind the state change. A merchant whose webhooks go elsewhere, or a gateway
 * without the receiver (not sandbox), is not waited for; the payment is done either way.
 */
async function followWebhook(invoiceId: string, timeoutMs = 20_000): Promise<void> {
  const url = `${gatewayUrl()}/sandbox/webhooks`;
  const until = Date.now() + timeoutMs;
  let tracked = false;
  while (Date.now() < until) {
    const res = await fetchGateway(fetch, url).catch(() => undefined);
    if (!res?.ok) return;
    const { received } = (await res.json()) as {
      received: { type: string; invoiceId: string; verified: boolean }[];
    };
    const settled = received.find((r) => r.type === 'invoice.settled' && r.invoiceId === invoiceId);
    if (settled) {
      const how = settled.verified ? 'signature verified' : 'signature NOT verified';
      console.log(`  webhook invoice.settled received by ${url} (${how})`);
      return;
    }
    // Only an invoice whose merchant sends here is waited for (its invoice.created arrived here).
    tracked ||= received.some((r) => r.invoiceId === invoiceId);
    if (!tracked && Date.now() > until - timeoutMs / 2) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  console.log(`  webhook invoice.settled has not reached ${url} yet; the dashboard lists its deliveries`);
}

async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'mine') return runPayUtxoCli(argv);
  const at = argv.indexOf('--option');
  let option = at >= 0 ? argv[at + 1] : undefined;
  if (option === undefined) {
    const invoiceId = argv.find((a) => !a.startsWith('--'));
    if (!invoiceId) {
      console.error('usage: sandbox:pay -- <invoiceId> [--option ASSET@network] [--amount X]');
      return 1;
    }
    try {
      option = await defaultOption(invoiceId);
    } catch (err) {
      console.error((err as Error).message);
      return 1;
    }
    argv = [...argv, '--option', option];
    const id = parseOption(option)!;
    const paid = NETWORKS[id.network].family === 'evm' ? await runPayEvmCli(argv) : await runPayUtxoCli(argv);
    if (paid !== 0) return paid;
    try {
      return await followToSettled(invoiceId);
    } catch (err) {
      console.error((err as Error).message);
      return 1;
    }
  }
  const id = parseOption(option);
  if (!id) {
    console.error(`unknown option ${option}; use ASSET@network such as LTC@litecoin-regtest or ETH@anvil`);
    return 1;
  }
  return NETWORKS[id.network].family === 'evm' ? runPayEvmCli(argv) : runPayUtxoCli(argv);
}

main(process.argv.slice(2)).then((code) => process.exit(code));
