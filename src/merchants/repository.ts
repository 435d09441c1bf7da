// Merchants, their settings and their watch-only keys. Settings have the defaults of the core issue:
// speed `medium`, tolerance 0 %, expiry 15 min, monitoring window 24 h.

import { appendAudit } from '../audit/log';
import { isNetworkId, NETWORKS, type NetworkId, parseOption } from '../chains/networks';
import { createDeriver, parseAccountKey } from '../chains/utxo/derive';
import type { Queryable, Sql, Tx } from '../db/client';
import type { SpeedPolicy } from '../invoices/repository';
import { ConflictError, NotFoundError, ValidationError } from '../lib/errors';
import { DEFAULT_EXPIRY_MAX_MINUTES, expiryRangeMessage } from '../lib/expiry';
import { newId } from '../lib/ids';
import { type CreatedApiKey, createApiKey, type KeyMode } from './apikeys';
import { merchantFromJson, merchantJson } from './record';

export interface MerchantKey {
  readonly network: NetworkId;
  readonly keyText: string;
  readonly scriptType: string;
  readonly firstAddress: string;
}

export interface Merchant {
  readonly id: string;
  readonly name: string;
  readonly bin: string | null;
  readonly mode: KeyMode;
  readonly speedPolicy: SpeedPolicy;
  readonly paymentToleranceBp: number;
  readonly invoiceExpiryMinutes: number;
  readonly monitoringWindowMinutes: number;
  readonly enabledOptions: readonly string[];
  readonly evmPayoutAddress: string | null;
  readonly keys: readonly MerchantKey[];
  readonly createdAt: Date;
}

export interface MerchantInput {
  readonly name: string;
  readonly bin?: string;
  readonly mode: KeyMode;
  readonly xpubs?: Readonly<Partial<Record<string, string>>>;
  readonly evmPayout?: string;
  readonly enabledOptions?: readonly string[];
}

/** Validates and derives the first address of each key (so the merchant can compare it with their wallet). */
export function checkMerchantKeys(xpubs: Readonly<Partial<Record<string, string>>>): MerchantKey[] {
  const out: MerchantKey[] = [];
  for (const [network, text] of Object.entries(xpubs)) {
    if (text === undefined) continue;
    if (!isNetworkId(network) || NETWORKS[network].family !== 'utxo') {
      throw new ValidationError('unknown network', [
        { path: `xpub.${network}`, message: `${network} is not a Bitcoin or Litecoin network` },
      ]);
    }
    const key = parseAccountKey(network, text, `xpub.${network}`);
    out.push({
      network,
      keyText: key.text,
      scriptType: key.scriptType,
      firstAddress: createDeriver(key).firstAddress(),
    });
  }
  return out;
}

export async function createMerchant(
  sql: Sql,
  input: MerchantInput,
  actor = 'cli',
): Promise<{ merchant: Merchant; apiKey: CreatedApiKey }> {
  const errors = [];
  if (!input.name.trim() || input.name.length > 200)
    errors.push({ path: 'name', message: 'a name of 1 to 200 characters is required' });
  if (input.bin !== undefined && !/^[0-9]{12}$/.test(input.bin))
    errors.push({ path: 'bin', message: 'a BIN has 12 digits' });
  for (const o of input.enabledOptions ?? []) {
    if (!parseOption(o)) errors.push({ path: 'enabledOptions', message: `unknown payment option ${o}` });
  }
  if (errors.length) throw new ValidationError('invalid merchant', errors);
  const keys = checkMerchantKeys(input.xpubs ?? {});
  const id = newId('mer');
  const enabled = input.enabledOptions ?? defaultOptions(keys, input.evmPayout);
  return sql.begin(async (tx) => {
    await tx`insert into merchants (id, name, bin, mode, enabled_options, evm_payout_address)
      values (${id}, ${input.name.trim()}, ${input.bin ?? null}, ${input.mode}, ${tx.array([...enabled])}, ${input.evmPayout ?? null})`;
    for (const k of keys) await insertKey(tx, id, k);
    const apiKey = await createApiKey(tx, id, input.mode, 'default');
    await appendAudit(tx, {
      actor,
      action: 'merchant.created',
      subject: id,
      data: {
        name: input.name.trim(),
        mode: input.mode,
        networks: keys.map((k) => k.network),
        apiKeyId: apiKey.id,
      },
    });
    const merchant = (await getMerchant(tx, id))!;
    return { merchant, apiKey };
  });
}

function defaultOptions(keys: MerchantKey[], evmPayout: string | undefined): string[] {
  const opts = keys.map((k) => `${NETWORKS[k.network].nativeAsset}@${k.network}`);
  if (evmPayout) {
    for (const n of Object.values(NETWORKS))
      if (n.family === 'evm') for (const a of n.assets) opts.push(`${a}@${n.id}`);
  }
  return opts;
}

/** Another merchant registered this account key (or its addresses are already issued): 409, naming no one. */
export class AccountKeyInUseError extends ConflictError {
  override name = 'AccountKeyInUseError';
  constructor(network: string) {
    super(
      'account_key_in_use',
      `this account key is already registered on ${network} by another merchant; use an account of your own wallet`,
    );
  }
}

/**
 * Refuses a key whose addresses another merchant already uses: the same derivation (same first
 * address on the network, whatever the key's encoding: xpub, zpub, descriptor) registered by another
 * merchant, or its first address already issued to another merchant's invoice. Otherwise a merchant
 * could register someone else's key and take their next addresses. Serialised per first address,
 * so two merchants registering the same key at once cannot both pass.
 *
 * Not on the sandbox's regtest networks: there the published BIP84 test-vector key is meant to be
 * shared (the demo seed and the README's `merchant create` example use it), coins are worthless, and
 * invoice creation still skips an address another merchant holds (src/invoices/create.ts).
 */
async function assertKeyFree(tx: Tx, merchantId: string, k: MerchantKey): Promise<void> {
  if (NETWORKS[k.network].mode === 'sandbox') return;
  await tx`select pg_advisory_xact_lock(hashtext(${`merchant_key ${k.network} ${k.firstAddress}`}))`;
  const [taken] = await tx`select 1 as taken from merchant_keys
      where network = ${k.network} and first_address = ${k.firstAddress} and merchant_id <> ${merchantId}
    union all
    select 1 from payment_options o join invoices i on i.id = o.invoice_id
      where o.network = ${k.network} and o.address = ${k.firstAddress} and i.merchant_id <> ${merchantId}
    limit 1`;
  if (taken) throw new AccountKeyInUseError(k.network);
}

async function insertKey(tx: Tx, merchantId: string, k: MerchantKey): Promise<void> {
  await assertKeyFree(tx, merchantId, k);
  const [prev] = await tx<{ key_text: string }[]>`select key_text from merchant_keys
    where merchant_id = ${merchantId} and network = ${k.network} for update`;
  await tx`insert into merchant_keys (merchant_id, network, key_text, script_type, first_address)
    values (${merchantId}, ${k.network}, ${k.keyText}, ${k.scriptType}, ${k.firstAddress})
    on conflict (merchant_id, network) do update set key_text = excluded.key_text,
      script_type = excluded.script_type, first_address = excluded.first_address`;
  // Setting the same key again must not hand its addresses out a second time.
  if (prev?.key_text === k.keyText) return;
  // A new key starts its own index sequence; the old key's addresses stay with their invoices.
  await tx`insert into derivation_indexes (merchant_id, network, next_index) values (${merchantId}, ${k.network}, 0)
    on conflict (merchant_id, network) do update set next_index = 0`;
}

/** Sets or replaces one network's key (settings page, CLI). */
export async function setMerchantKey(
  sql: Sql,
  merchantId: string,
  network: string,
  text: string,
  actor: string,
): Promise<MerchantKey> {
  const [k] = checkMerchantKeys({ [network]: text });
  return sql.begin(async (tx) => {
    const [m] = await tx`select id from merchants where id = ${merchantId} for update`;
    if (!m) throw new NotFoundError('merchant');
    await insertKey(tx, merchantId, k!);
    await appendAudit(tx, {
      actor,
      action: 'merchant.key_set',
      subject: merchantId,
      data: { network, firstAddress: k!.firstAddress },
    });
    return k!;
  });
}

export async function getMerchant(q: Queryable, id: string): Promise<Merchant | undefined> {
  const [r] = await q<{ merchant: unknown }[]>`select ${merchantJson(q)} as merchant from merchants m
    where m.id = ${id}`;
  return r ? merchantFromJson(r.merchant) : undefined;
}

/** The highest derivation index handed out per network, for setting a wallet's gap limit. */
export async function highestUsedIndexes(
  q: Queryable,
  merchantId: string,
): Promise<{ network: string; highestIndex: number | null }[]> {
  const rows = await q<{ network: string; next_index: number }[]>`
    select network, next_index from derivation_indexes where merchant_id = ${merchantId} order by network`;
  return rows.map((r) => ({ network: r.network, highestIndex: r.next_index > 0 ? r.next_index - 1 : null }));
}

export interface SettingsInput {
  readonly speedPolicy?: SpeedPolicy;
  readonly paymentToleranceBp?: number;
  readonly invoiceExpiryMinutes?: number;
  readonly monitoringWindowMinutes?: number;
  readonly enabledOptions?: readonly string[];
  readonly evmPayoutAddress?: string | null;
}

export async function updateMerchantSettings(
  sql: Sql,
  merchantId: string,
  s: SettingsInput,
  actor: string,
  limits: { readonly maxExpiryMinutes?: number } = {},
): Promise<Merchant> {
  const maxExpiry = limits.maxExpiryMinutes ?? DEFAULT_EXPIRY_MAX_MINUTES;
  const e = s.invoiceExpiryMinutes;
  if (e !== undefined && !(Number.isInteger(e) && e >= 1 && e <= maxExpiry))
    throw new ValidationError('invalid settings', [
      { path: 'invoiceExpiryMinutes', message: expiryRangeMessage(maxExpiry) },
    ]);
  for (const o of s.enabledOptions ?? []) {
    if (!parseOption(o))
      throw new ValidationError('invalid settings', [
        { path: 'enabledOptions', message: `unknown payment option ${o}` },
      ]);
  }
  return sql.begin(async (tx) => {
    const [m] = await tx`select * from merchants where id = ${merchantId} for update`;
    if (!m) throw new NotFoundError('merchant');
    await tx`update merchants set
      speed_policy = ${s.speedPolicy ?? m.speed_policy},
      payment_tolerance_bp = ${s.paymentToleranceBp ?? m.payment_tolerance_bp},
      invoice_expiry_minutes = ${s.invoiceExpiryMinutes ?? m.invoice_expiry_minutes},
      monitoring_window_minutes = ${s.monitoringWindowMinutes ?? m.monitoring_window_minutes},
      enabled_options = ${tx.array([...(s.enabledOptions ?? m.enabled_options)])},
      evm_payout_address = ${s.evmPayoutAddress === undefined ? m.evm_payout_address : s.evmPayoutAddress},
      updated_at = now()
      where id = ${merchantId}`;
    await appendAudit(tx, {
      actor,
      action: 'merchant.settings_changed',
      subject: merchantId,
      data: { ...s },
    });
    return (await getMerchant(tx, merchantId))!;
  });
}
