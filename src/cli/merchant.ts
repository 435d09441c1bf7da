// `merchant create | show | set-key | settings`: onboarding a merchant and its watch-only keys.
import { isNetworkId, NETWORKS } from '../chains/networks';
import type { SpeedPolicy } from '../invoices/repository';
import { NotFoundError } from '../lib/errors';
import { MoneyFormatError, percentToBasisPoints } from '../lib/money';
import type { KeyMode } from '../merchants/apikeys';
import {
  createMerchant,
  getMerchant,
  highestUsedIndexes,
  type Merchant,
  type SettingsInput,
  setMerchantKey,
  updateMerchantSettings,
} from '../merchants/repository';
import { keyModeFor } from '../services';
import { CliUsageError, type Flags } from './args';
import { basisPointsToPercent, isoOrNone, table } from './output';
import type { CliCommand } from './types';
import { evmAddressFlag, idFlag, optionsFlag } from './validate';

const SPEED_POLICIES: readonly SpeedPolicy[] = ['high', 'medium', 'low-medium', 'low'];
const MODES: readonly KeyMode[] = ['test', 'live'];

export interface MerchantJson {
  id: string;
  name: string;
  bin: string | null;
  mode: KeyMode;
  settings: {
    speedPolicy: SpeedPolicy;
    paymentTolerancePercent: string;
    invoiceExpiryMinutes: number;
    monitoringWindowMinutes: number;
    enabledOptions: string[];
    evmPayoutAddress: string | null;
  };
  keys: { network: string; key: string; scriptType: string; firstAddress: string }[];
  createdAt: string;
}

export function merchantToJson(m: Merchant): MerchantJson {
  return {
    id: m.id,
    name: m.name,
    bin: m.bin,
    mode: m.mode,
    settings: {
      speedPolicy: m.speedPolicy,
      paymentTolerancePercent: basisPointsToPercent(m.paymentToleranceBp),
      invoiceExpiryMinutes: m.invoiceExpiryMinutes,
      monitoringWindowMinutes: m.monitoringWindowMinutes,
      enabledOptions: [...m.enabledOptions],
      evmPayoutAddress: m.evmPayoutAddress,
    },
    keys: m.keys.map((k) => ({
      network: k.network,
      key: k.keyText,
      scriptType: k.scriptType,
      firstAddress: k.firstAddress,
    })),
    createdAt: m.createdAt.toISOString(),
  };
}

function describeMerchant(m: MerchantJson, indexes?: Map<string, number | null>): string {
  const s = m.settings;
  const lines = [
    `${m.id}  "${m.name}"  (${m.mode} mode, created ${isoOrNone(m.createdAt)})`,
    `  BIN:              ${m.bin ?? '-'}`,
    `  speed policy:     ${s.speedPolicy}`,
    `  tolerance:        ${s.paymentTolerancePercent} %`,
    `  invoice expiry:   ${s.invoiceExpiryMinutes} min`,
    `  monitoring:       ${s.monitoringWindowMinutes} min after expiry`,
    `  enabled options:  ${s.enabledOptions.join(', ') || '-'}`,
    `  EVM payout:       ${s.evmPayoutAddress ?? '-'}`,
  ];
  if (m.keys.length === 0) lines.push('  keys:             none (set one with `merchant set-key`)');
  else {
    const header = ['network', 'type', 'first address'];
    if (indexes) header.push('highest used index');
    const rows = m.keys.map((k) => {
      const row = [k.network, k.scriptType, k.firstAddress];
      if (indexes) row.push(String(indexes.get(k.network) ?? '-'));
      return row;
    });
    lines.push(
      '  keys:',
      table(header, rows)
        .split('\n')
        .map((l) => `    ${l}`)
        .join('\n'),
    );
  }
  return lines.join('\n');
}

const CHECK_WALLET =
  'Check that each first address above is the first receive address your wallet shows for that account.';

const create: CliCommand = {
  name: 'merchant create',
  summary: 'Create a merchant with its watch-only keys and a first API key (shown once).',
  flags: {
    name: { kind: 'string', required: true, placeholder: 'NAME', description: "the merchant's name" },
    bin: { kind: 'string', placeholder: '12DIGITS', description: 'business identification number (BIN)' },
    xpub: {
      kind: 'list',
      placeholder: 'NETWORK=KEY',
      description: 'an account xpub/zpub/tpub/vpub or wpkh()/tr() descriptor for a network',
    },
    'evm-payout': { kind: 'string', placeholder: '0x…', description: 'where EVM payments are forwarded' },
    options: {
      kind: 'string',
      placeholder: 'A@net,B@net',
      description: 'enabled payment options (default: one per key, all EVM ones with --evm-payout)',
    },
    mode: {
      kind: 'string',
      placeholder: 'test|live',
      description: 'API key mode (default: live on mainnet, test otherwise)',
    },
  },
  fieldFlags: { xpub: '--xpub', name: '--name', bin: '--bin', enabledOptions: '--options' },
  examples: [
    'merchant create --name "Alatau Café" --xpub bitcoin-testnet4=vpub5… --json',
    'merchant create --name Shop --bin 123456789012 --evm-payout 0xAb… --mode test',
  ],
  async run(ctx) {
    const f = ctx.flags;
    const name = f.required('name');
    if (!name.trim()) throw new CliUsageError('--name must not be empty', '--name');
    const bin = f.string('bin');
    if (bin !== undefined && !/^[0-9]{12}$/.test(bin))
      throw new CliUsageError(`--bin must be 12 digits (got "${bin}")`, '--bin');
    const xpubs = f.pairs('xpub', 'NETWORK=KEY, e.g. bitcoin-testnet4=vpub5…');
    for (const network of Object.keys(xpubs)) checkUtxoNetwork(network, '--xpub');
    const evmPayout = await evmAddressFlag(f, 'evm-payout');
    const enabledOptions = optionsFlag(f);
    const config = ctx.config();
    const mode = f.oneOf('mode', MODES) ?? keyModeFor(config);
    const db = await ctx.db();
    const { merchant, apiKey } = await createMerchant(db.sql, {
      name,
      mode,
      xpubs,
      ...(bin !== undefined ? { bin } : {}),
      ...(evmPayout !== undefined ? { evmPayout } : {}),
      ...(enabledOptions !== undefined ? { enabledOptions } : {}),
    });
    const json = merchantToJson(merchant);
    if (mode !== keyModeFor(config)) {
      ctx.note(
        `note: this gateway runs in ${config.NETWORK_MODE} mode and accepts sk_${keyModeFor(config)}_ keys; ` +
          `this merchant's sk_${mode}_ key works only on a gateway in ${mode === 'live' ? 'mainnet' : 'sandbox or testnet'} mode`,
      );
    }
    ctx.print(
      `Merchant created:\n${describeMerchant(json)}\n${json.keys.length ? `${CHECK_WALLET}\n` : ''}\n` +
        `API key (shown once; store it now):\n  ${apiKey.apiKey}`,
      { merchant: json, apiKey: apiKey.apiKey },
    );
    return 0;
  },
};

const show: CliCommand = {
  name: 'merchant show',
  summary: "Show a merchant's settings, keys with their first addresses and the highest used address index.",
  flags: { id: { kind: 'string', required: true, placeholder: 'mer_…', description: 'the merchant id' } },
  async run(ctx) {
    const id = idFlag(ctx.flags, 'id', 'mer');
    const db = await ctx.db();
    const m = await getMerchant(db.sql, id);
    if (!m) throw new NotFoundError(`merchant ${id}`);
    const highest = await highestUsedIndexes(db.sql, id);
    const json = merchantToJson(m);
    ctx.print(
      `${describeMerchant(json, new Map(highest.map((h) => [h.network, h.highestIndex])))}\n` +
        'Set each wallet\'s gap limit above the "highest used index" so it finds every payment.',
      { merchant: json, highestUsedIndexes: highest },
    );
    return 0;
  },
};

const setKey: CliCommand = {
  name: 'merchant set-key',
  summary: "Set or replace a merchant's account key for one Bitcoin or Litecoin network.",
  flags: {
    id: { kind: 'string', required: true, placeholder: 'mer_…', description: 'the merchant id' },
    network: { kind: 'string', required: true, placeholder: 'NETWORK', description: 'e.g. bitcoin-testnet4' },
    key: {
      kind: 'string',
      required: true,
      placeholder: 'KEY',
      description: 'account xpub/zpub/tpub/vpub or a wpkh()/tr() descriptor',
    },
  },
  fieldFlags: { xpub: '--key' },
  async run(ctx) {
    const id = idFlag(ctx.flags, 'id', 'mer');
    const network = checkUtxoNetwork(ctx.flags.required('network'), '--network');
    const text = ctx.flags.required('key');
    const db = await ctx.db();
    const before = await getMerchant(db.sql, id);
    if (!before) throw new NotFoundError(`merchant ${id}`);
    const previous = before.keys.find((k) => k.network === network)?.keyText;
    const k = await setMerchantKey(db.sql, id, network, text, 'cli');
    // The same key again keeps its sequence (its addresses are never handed out twice); a new key starts at 0.
    const indexesRestarted = previous !== k.keyText;
    const json = {
      network: k.network,
      key: k.keyText,
      scriptType: k.scriptType,
      firstAddress: k.firstAddress,
    };
    ctx.print(
      `Key set for ${id} on ${k.network} (${k.scriptType}).\n  first address: ${k.firstAddress}\n` +
        `${CHECK_WALLET}\n` +
        (indexesRestarted
          ? 'Addresses for new invoices start at index 0 of this key.'
          : 'This is the key already set: address indexes continue where they were.'),
      { merchantId: id, key: json, indexesRestarted },
    );
    return 0;
  },
};

const settings: CliCommand = {
  name: 'merchant settings',
  summary: "Change a merchant's settings; flags not given keep their value.",
  flags: {
    id: { kind: 'string', required: true, placeholder: 'mer_…', description: 'the merchant id' },
    'speed-policy': {
      kind: 'string',
      placeholder: SPEED_POLICIES.join('|'),
      description: 'confirmations before settled: high 0, medium 1, low-medium 2, low 6',
    },
    'tolerance-percent': {
      kind: 'string',
      placeholder: 'PERCENT',
      description: 'underpayment still accepted as full, e.g. 0.5 (at most 2 decimals)',
    },
    'expiry-minutes': {
      kind: 'string',
      placeholder: 'MINUTES',
      description: 'invoice expiry in minutes, 1 to INVOICE_EXPIRY_MAX_MINUTES (10080 by default)',
    },
    'monitoring-minutes': {
      kind: 'string',
      placeholder: 'MINUTES',
      description: 'how long after expiry late payments are still recorded, 0 to 43200',
    },
    options: { kind: 'string', placeholder: 'A@net,B@net', description: 'enabled payment options' },
    'evm-payout': {
      kind: 'string',
      placeholder: '0x…|none',
      description: 'EVM payout address (none clears it)',
    },
  },
  fieldFlags: { enabledOptions: '--options' },
  async run(ctx) {
    const f = ctx.flags;
    const id = idFlag(f, 'id', 'mer');
    const input = settingsFromFlags(f);
    const payout = f.string('evm-payout');
    const evmPayoutAddress = payout === 'none' ? null : await evmAddressFlag(f, 'evm-payout');
    if (Object.keys(input).length === 0 && evmPayoutAddress === undefined) {
      throw new CliUsageError(
        'nothing to change: give at least one of --speed-policy, --tolerance-percent, --expiry-minutes, ' +
          '--monitoring-minutes, --options, --evm-payout',
      );
    }
    const db = await ctx.db();
    const m = await updateMerchantSettings(
      db.sql,
      id,
      { ...input, ...(evmPayoutAddress !== undefined ? { evmPayoutAddress } : {}) },
      'cli',
      { maxExpiryMinutes: ctx.config().INVOICE_EXPIRY_MAX_MINUTES },
    );
    const json = merchantToJson(m);
    ctx.print(`Settings saved:\n${describeMerchant(json)}`, { merchant: json });
    return 0;
  },
};

function settingsFromFlags(f: Flags): SettingsInput {
  const out: { -readonly [K in keyof SettingsInput]: SettingsInput[K] } = {};
  const speed = f.oneOf('speed-policy', SPEED_POLICIES);
  if (speed) out.speedPolicy = speed;
  const tolerance = f.string('tolerance-percent');
  if (tolerance !== undefined) {
    try {
      out.paymentToleranceBp = percentToBasisPoints(tolerance);
    } catch (err) {
      if (!(err instanceof MoneyFormatError)) throw err;
      throw new CliUsageError(
        `--tolerance-percent must be a percent from 0 to 100 with at most 2 decimals, e.g. 0.5 (got "${tolerance}")`,
        '--tolerance-percent',
      );
    }
  }
  const expiry = f.int('expiry-minutes', 1, 43_200);
  if (expiry !== undefined) out.invoiceExpiryMinutes = expiry;
  const monitoring = f.int('monitoring-minutes', 0, 43_200);
  if (monitoring !== undefined) out.monitoringWindowMinutes = monitoring;
  const options = optionsFlag(f);
  if (options !== undefined) out.enabledOptions = options;
  return out;
}

function checkUtxoNetwork(network: string, flag: string) {
  if (!isNetworkId(network) || NETWORKS[network].family !== 'utxo') {
    const utxo = Object.values(NETWORKS)
      .filter((n) => n.family === 'utxo')
      .map((n) => n.id);
    throw new CliUsageError(
      `${flag}: "${network}" is not a Bitcoin or Litecoin network; use one of ${utxo.join(', ')}`,
      flag,
    );
  }
  return network;
}

export const merchantCommands: readonly CliCommand[] = [create, show, setKey, settings];
