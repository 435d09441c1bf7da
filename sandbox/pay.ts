// `npm run sandbox:pay -- <invoiceId> [--option ASSET@network] [--amount X] …`: pays an invoice from
// a funded sandbox wallet, on whichever sandbox chain the option names (without --option: the
// invoice's first option on a chain the sandbox runs). Each chain's own flags: sandbox/pay-utxo.ts
// (--rbf, --mine N; `mine [N]` alone mines) and sandbox/pay-evm.ts (--via, --payer, --approve).

import { readSandboxEvm } from '../src/chains/evm/sandbox-file';
import { NETWORKS, parseOption } from '../src/chains/networks';
import { readSandboxUtxo } from '../src/chains/utxo/backends/sandbox-file';
import { runPayEvmCli } from './pay-evm';
import { runPayUtxoCli } from './pay-utxo';

async function defaultOption(invoiceId: string): Promise<string> {
  const dataDir = process.env['DATA_DIR'] || '.data';
  const running = new Set<string>(Object.keys(readSandboxUtxo(dataDir)));
  if (readSandboxEvm(dataDir)) running.add('anvil');
  const gateway = (process.env['PUBLIC_URL'] || 'http://127.0.0.1:8787').replace(/\/+$/, '');
  const res = await fetch(`${gateway}/v1/checkout/${encodeURIComponent(invoiceId)}`);
  if (!res.ok) throw new Error(`${gateway}/v1/checkout/${invoiceId}: HTTP ${res.status}`);
  const { paymentOptions } = (await res.json()) as { paymentOptions: { option: string; network: string }[] };
  const o = paymentOptions.find((x) => running.has(x.network));
  if (!o) throw new Error('the invoice has no option on a running sandbox chain: run `npm run sandbox`');
  return o.option;
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
  }
  const id = parseOption(option);
  if (!id) {
    console.error(`unknown option ${option}; use ASSET@network such as LTC@litecoin-regtest or ETH@anvil`);
    return 1;
  }
  return NETWORKS[id.network].family === 'evm' ? runPayEvmCli(argv) : runPayUtxoCli(argv);
}

main(process.argv.slice(2)).then((code) => process.exit(code));
