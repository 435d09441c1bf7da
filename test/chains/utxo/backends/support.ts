// Shared set-up for the UTXO watcher tests: a real litecoind regtest node, a fresh database, a
// merchant with the BIP84 test-vector key for litecoin-regtest, and small helpers.
import { coinsToAtomic } from '../../../../src/chains/utxo/backends/rpc';
import type { UtxoBackend } from '../../../../src/chains/utxo/backends/types';
import {
  createUtxoWatcher,
  type UtxoWatcher,
  type UtxoWatcherOptions,
} from '../../../../src/chains/utxo/watcher';
import { createInvoice } from '../../../../src/invoices/create';
import { type Invoice, loadInvoice, type SpeedPolicy } from '../../../../src/invoices/repository';
import { formatUnits } from '../../../../src/lib/money';
import type { RegtestNode } from '../../../helpers/litecoind';
import { createTestContext, createTestMerchant, type TestContext } from '../../../helpers/services';

export const OPTION = 'LTC@litecoin-regtest';

export interface LtcInvoice {
  readonly id: string;
  readonly address: string;
  readonly amountAtomic: bigint;
  readonly amountTiyn: bigint;
  /** The full amount as a decimal string of LTC. */
  readonly coins: string;
}

export const coins = (atomic: bigint): string => formatUnits(atomic, 8);

export interface UtxoTestEnv {
  readonly ctx: TestContext;
  readonly merchantId: string;
  invoice(amount?: string, opts?: { speed?: SpeedPolicy; expiresInMinutes?: number }): Promise<LtcInvoice>;
  load(id: string): Promise<Invoice>;
  watcher(backend: UtxoBackend, opts?: Partial<UtxoWatcherOptions>): UtxoWatcher;
  events(invoiceId: string): Promise<{ type: string; data: Record<string, unknown> }[]>;
  close(): Promise<void>;
}

/** @param key the merchant's litecoin-regtest account key (default: a fresh random one). */
export async function createUtxoTestEnv(opts: { key?: string } = {}): Promise<UtxoTestEnv> {
  const ctx = await createTestContext();
  const { merchant } = await createTestMerchant(
    ctx,
    opts.key ? { xpubs: { 'litecoin-regtest': opts.key } } : {},
  );
  const sql = ctx.db.sql;
  return {
    ctx,
    merchantId: merchant.id,
    async invoice(amount = '15000.00', opts = {}) {
      await sql`update merchants set speed_policy = ${opts.speed ?? 'medium'} where id = ${merchant.id}`;
      const inv = await createInvoice(ctx.services, merchant.id, {
        amount,
        currency: 'KZT',
        options: [OPTION],
        ...(opts.expiresInMinutes ? { expiresInMinutes: opts.expiresInMinutes } : {}),
      });
      const o = inv.options.find((x) => x.option === OPTION)!;
      return {
        id: inv.id,
        address: o.address,
        amountAtomic: o.amountAtomic,
        amountTiyn: inv.amountTiyn,
        coins: coins(o.amountAtomic),
      };
    },
    async load(id) {
      return (await loadInvoice(sql, id))!;
    },
    watcher(backend, opts = {}) {
      return createUtxoWatcher({ sql, state: ctx.services.state, backend, ...opts });
    },
    async events(invoiceId) {
      const rows = await sql<{ type: string; payload: { data: Record<string, unknown> } }[]>`
        select type, payload from outbox where invoice_id = ${invoiceId} order by id`;
      return rows.map((r) => ({ type: r.type, data: r.payload.data }));
    },
    close: () => ctx.close(),
  };
}

interface WalletUtxo {
  readonly txid: string;
  readonly vout: number;
  readonly amount: unknown;
}

/** Inputs of a wallet transaction with their values (atomic), from the node. */
export async function txInputs(node: RegtestNode, txid: string) {
  const tx = await node.rpc.call<{ vin: { txid: string; vout: number }[] }>('getrawtransaction', [
    txid,
    true,
  ]);
  const out: { txid: string; vout: number; atomic: bigint }[] = [];
  for (const i of tx.vin) {
    const prev = await node.rpc.call<{ vout: { value: unknown }[] }>('getrawtransaction', [i.txid, true]);
    out.push({ txid: i.txid, vout: i.vout, atomic: coinsToAtomic(prev.vout[i.vout]!.value) });
  }
  return out;
}

/**
 * Builds, signs and returns (not sends) a transaction of the wallet spending exactly `inputs` to
 * `outputs` (address → atomic), in order. The same address may appear twice: Core refuses duplicate
 * addresses in createrawtransaction, so a placeholder is written first and its script swapped in.
 */
export async function signedTx(
  node: RegtestNode,
  inputs: readonly { txid: string; vout: number }[],
  outputs: readonly (readonly [string, bigint])[],
  opts: { rbf?: boolean } = {},
): Promise<string> {
  const placeholders: [string, string][] = [];
  const seen = new Set<string>();
  const outs: Record<string, string>[] = [];
  for (const [address, atomic] of outputs) {
    let target = address;
    if (seen.has(address)) {
      target = await node.wallet.call<string>('getnewaddress');
      placeholders.push([target, address]);
    }
    seen.add(address);
    outs.push({ [target]: coins(atomic) });
  }
  let hex = await node.rpc.call<string>('createrawtransaction', {
    inputs: inputs.map((i) => ({
      txid: i.txid,
      vout: i.vout,
      ...(opts.rbf ? {} : { sequence: 0xfffffffe }),
    })),
    outputs: outs,
    replaceable: opts.rbf ?? false,
  });
  for (const [placeholder, real] of placeholders) {
    const from = await node.rpc.call<{ scriptPubKey: string }>('validateaddress', [placeholder]);
    const to = await node.rpc.call<{ scriptPubKey: string }>('validateaddress', [real]);
    hex = hex.replace(from.scriptPubKey, to.scriptPubKey);
  }
  const signed = await node.wallet.call<{ hex: string; complete: boolean }>('signrawtransactionwithwallet', [
    hex,
  ]);
  if (!signed.complete) throw new Error('could not sign the transaction');
  return signed.hex;
}

/** A spendable wallet output of at least `minAtomic` with `minconf` to `maxconf` confirmations. */
export async function walletUtxo(
  node: RegtestNode,
  minAtomic: bigint,
  minconf = 1,
  maxconf = 9_999_999,
): Promise<WalletUtxo> {
  const list = await node.wallet.call<WalletUtxo[]>('listunspent', [minconf, maxconf]);
  const u = list.find((x) => coinsToAtomic(x.amount) >= minAtomic);
  if (!u) throw new Error('no wallet output large enough');
  return u;
}

export const FEE = 100_000n; // 0.001 LTC: plenty at regtest fee rates
