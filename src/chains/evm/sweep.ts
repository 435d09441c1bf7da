// The sweep job: moves what sits at paid deposit addresses to the merchant's payout address with
// DepositFactory.deployAndFlush(invoiceKey, payout, tokens, deadline, signature). The forwarder can send
// only to the payout address fixed in its CREATE2 address, so neither key here can redirect anything.
//
// Compliance: the factory flushes only with an EIP-712 authorization from the gateway signer
// (GATEWAY_SIGNER_KEY), bound to the forwarder's on-chain nonce and a short deadline. This job signs
// one only when no payment on the deposit is held or rejected (flush-policy.ts), checked right before
// signing; a hold that starts after that can race only an authorization already sent, which expires
// with its deadline and is single-use. Nobody else (merchant or third party) can flush a deposit.
//
// Gas: the operator's sweeper account (EVM_SWEEPER_KEY) pays for every sweep (about 380k gas for the
// first, which deploys the forwarder; 55-70k for later flushes), whatever the amount swept. Operators
// keep it funded and recover the cost through their fees.
import { getAddress, Interface, Transaction, Wallet } from 'ethers';
import { signFlush } from '../../../contracts/flush-auth';
import { DepositFactoryAbi } from '../../../contracts/generated/DepositFactory';
import type { Sql } from '../../db/client';
import { randomHex } from '../../lib/ids';
import type { Logger } from '../../lib/log';
import { tryAcquireLease } from '../../watch/leases';
import type { NetworkId } from '../networks';
import type { EvmNetworkConfig } from './config';
import { depositFlushBlock, flushAllowedWhere } from './flush-policy';
import { erc20Interface } from './intents';
import {
  type EvmRpc,
  EvmRpcResponseError,
  ethCall,
  getBalance,
  getBlockHeader,
  getReceipt,
  mapLimit,
} from './rpc';

export const factoryInterface = new Interface(DepositFactoryAbi as never);

export interface EvmSweeperOptions {
  readonly sql: Sql;
  readonly net: EvmNetworkConfig;
  readonly rpc: EvmRpc;
  /** The sweeper's private key (pays gas only). */
  readonly key: string;
  /** The gateway signer's private key: signs flush authorizations (the factory's `flushSigner`). */
  readonly signerKey: string;
  /** How long a flush authorization stays valid, in seconds after the latest block; default 600. */
  readonly authorizationTtlSeconds?: number;
  readonly logger?: Logger;
  readonly holder?: string;
  readonly useLease?: boolean;
  /** Addresses swept per tick at most; default 10. */
  readonly batch?: number;
  /** Wait this long for the sweep transactions to be mined within the tick (0: check next tick). */
  readonly confirmWithinMs?: number;
  /** A transaction not mined after this long is sent again; default 10 min. */
  readonly pendingTimeoutMs?: number;
  /** First retry delay after a failed sweep, doubled per attempt (capped at a day); default 60 s. */
  readonly retryBaseMs?: number;
}

export interface SweepTickResult {
  readonly network: NetworkId;
  readonly skipped?: 'busy';
  readonly sent: number;
  readonly confirmed: number;
  readonly failed: number;
  /** Due addresses that held nothing (someone else swept them). */
  readonly empty: number;
  /** Due addresses left unswept because a payment on them is held or rejected. */
  readonly blocked?: number;
}

export interface EvmSweeper {
  readonly network: NetworkId;
  readonly address: string;
  tick(now?: Date): Promise<SweepTickResult>;
}

interface SweepRow {
  readonly address: string;
  readonly invoice_id: string;
  readonly invoice_key: string;
  readonly payout: string;
  readonly pending_txid: string | null;
  readonly pending_at: Date | null;
  readonly attempts: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function createEvmSweeper(options: EvmSweeperOptions): EvmSweeper {
  const { sql, net, rpc } = options;
  const network = net.network;
  const wallet = new Wallet(options.key);
  const flushSigner = new Wallet(options.signerKey);
  const ttl = BigInt(options.authorizationTtlSeconds ?? 600);
  const holder = options.holder ?? `sweep-${randomHex(8)}`;
  const batch = options.batch ?? 10;
  const pendingTimeoutMs = options.pendingTimeoutMs ?? 600_000;
  const retryBaseMs = options.retryBaseMs ?? 60_000;
  const tokens = Object.values(net.tokens);
  const backoff = (attempts: number) => Math.min(retryBaseMs * 2 ** Math.min(attempts, 20), 86_400_000);

  async function balances(address: string): Promise<{ native: bigint; tokens: string[] }> {
    const [native, tokenBalances] = await Promise.all([
      getBalance(rpc, address),
      mapLimit(tokens, 4, async (t) => {
        const out = await ethCall(rpc, t, erc20Interface.encodeFunctionData('balanceOf', [address]));
        return erc20Interface.decodeFunctionResult('balanceOf', out)[0] as bigint;
      }),
    ]);
    return { native, tokens: tokens.filter((_, i) => tokenBalances[i]! > 0n) };
  }

  /** deployAndFlush calldata carrying a fresh single-use authorization for exactly this flush. */
  async function authorizedFlush(r: SweepRow, flushTokens: string[]): Promise<string> {
    const payout = getAddress(r.payout);
    const [nonceOut, latest] = await Promise.all([
      ethCall(rpc, net.depositFactory, factoryInterface.encodeFunctionData('nonces', [r.address])),
      getBlockHeader(rpc, 'latest'),
    ]);
    if (!latest) throw new Error('no latest block');
    const nonce = factoryInterface.decodeFunctionResult('nonces', nonceOut)[0] as bigint;
    const deadline = BigInt(latest.timestamp) + ttl;
    const auth = { invoiceId: r.invoice_key, payout, tokens: flushTokens, nonce, deadline };
    const signature = await signFlush(flushSigner, net.chainId, net.depositFactory, auth);
    return factoryInterface.encodeFunctionData('deployAndFlush', [
      r.invoice_key,
      payout,
      flushTokens,
      deadline,
      signature,
    ]);
  }

  /** Signs and sends; the hash is computed locally, so a send whose answer was lost is still known. */
  async function send(to: string, data: string): Promise<string> {
    const from = wallet.address;
    const [nonce, gas, latest, priority] = await Promise.all([
      rpc.call<string>('eth_getTransactionCount', [from, 'pending']),
      rpc.call<string>('eth_estimateGas', [{ from, to, data }]),
      getBlockHeader(rpc, 'latest'),
      rpc.call<string>('eth_maxPriorityFeePerGas').catch(() => null),
    ]);
    const gasLimit = (BigInt(gas) * 12n) / 10n + 10_000n;
    const base = latest?.baseFeePerGas ? BigInt(latest.baseFeePerGas) : null;
    const fees =
      base !== null
        ? (() => {
            const tip = priority ? BigInt(priority) : 1_000_000_000n;
            return { type: 2, maxPriorityFeePerGas: tip, maxFeePerGas: base * 2n + tip };
          })()
        : { type: 0, gasPrice: (BigInt(await rpc.call<string>('eth_gasPrice')) * 12n) / 10n };
    const signed = await wallet.signTransaction({
      chainId: net.chainId,
      nonce: Number(BigInt(nonce)),
      to,
      data,
      value: 0n,
      gasLimit,
      ...fees,
    });
    const hash = Transaction.from(signed).hash!;
    try {
      await rpc.call<string>('eth_sendRawTransaction', [signed]);
    } catch (err) {
      // "already known" after a retried send: the node has it.
      if (!(err instanceof EvmRpcResponseError) || !(await rpc.call('eth_getTransactionByHash', [hash])))
        throw err;
    }
    return hash;
  }

  async function settlePending(now: Date): Promise<{ confirmed: number; failed: number }> {
    const rows = await sql<
      SweepRow[]
    >`select address, invoice_id, invoice_key, payout, pending_txid, pending_at, attempts
      from evm_sweeps where network = ${network} and pending_txid is not null`;
    let confirmed = 0;
    let failed = 0;
    for (const r of rows) {
      const receipt = await getReceipt(rpc, r.pending_txid!);
      if (receipt?.status === '0x1') {
        // A deposit recorded after this sweep was sent keeps the address due.
        await sql`update evm_sweeps set last_txid = pending_txid, pending_txid = null, swept_at = ${now},
          attempts = 0, last_error = null, updated_at = ${now},
          due_at = case when due_at > pending_at then due_at else null end
          where network = ${network} and address = ${r.address} and pending_txid = ${r.pending_txid}`;
        confirmed++;
        options.logger?.info('evm deposit swept', { network, address: r.address, txid: r.pending_txid });
      } else if (receipt || now.getTime() - new Date(r.pending_at!).getTime() > pendingTimeoutMs) {
        const why = receipt ? 'sweep transaction reverted' : 'sweep transaction not mined in time';
        await sql`update evm_sweeps set pending_txid = null, attempts = attempts + 1, last_error = ${why},
          due_at = ${new Date(now.getTime() + backoff(r.attempts))}, updated_at = ${now}
          where network = ${network} and address = ${r.address} and pending_txid = ${r.pending_txid}`;
        failed++;
        options.logger?.warn('evm sweep failed', { network, address: r.address, txid: r.pending_txid, why });
      }
    }
    return { confirmed, failed };
  }

  return {
    network,
    address: wallet.address,
    async tick(now = new Date()): Promise<SweepTickResult> {
      if (
        options.useLease !== false &&
        !(await tryAcquireLease(sql, `evm-sweep:${network}`, holder, 60_000))
      ) {
        return { network, skipped: 'busy', sent: 0, confirmed: 0, failed: 0, empty: 0, blocked: 0 };
      }
      let { confirmed, failed } = await settlePending(now);
      const due = await sql<
        SweepRow[]
      >`select s.address, s.invoice_id, s.invoice_key, s.payout, s.pending_txid, s.pending_at,
          s.attempts
        from evm_sweeps s join invoices i on i.id = s.invoice_id
        where s.network = ${network} and s.due_at <= ${now} and s.pending_txid is null
          and ${flushAllowedWhere(sql)}
        order by s.due_at limit ${batch}`;
      let sent = 0;
      let empty = 0;
      let blocked = 0;
      for (const r of due) {
        try {
          // Checked again right before signing: a hold may have started since the select.
          if (await depositFlushBlock(sql, network, r.invoice_id)) {
            blocked++;
            continue;
          }
          const b = await balances(r.address);
          if (b.native === 0n && b.tokens.length === 0) {
            await sql`update evm_sweeps set due_at = null, updated_at = ${now}
              where network = ${network} and address = ${r.address} and pending_txid is null`;
            empty++;
            continue;
          }
          const data = await authorizedFlush(r, b.tokens);
          const txid = await send(net.depositFactory, data);
          await sql`update evm_sweeps set pending_txid = ${txid}, pending_at = ${now}, updated_at = ${now}
            where network = ${network} and address = ${r.address}`;
          sent++;
        } catch (err) {
          failed++;
          await sql`update evm_sweeps set attempts = attempts + 1, last_error = ${String((err as Error).message).slice(0, 500)},
            due_at = ${new Date(now.getTime() + backoff(r.attempts))}, updated_at = ${now}
            where network = ${network} and address = ${r.address}`;
          options.logger?.warn('evm sweep not sent', { network, address: r.address, err });
        }
      }
      const waitMs = options.confirmWithinMs ?? 0;
      if (sent > 0 && waitMs > 0) {
        const until = Date.now() + waitMs;
        while (Date.now() < until) {
          const r = await settlePending(now);
          confirmed += r.confirmed;
          failed += r.failed;
          const [left] = await sql<{ n: number }[]>`select count(*)::int as n from evm_sweeps
            where network = ${network} and pending_txid is not null`;
          if (!left || left.n === 0) break;
          await sleep(50);
        }
      }
      return { network, sent, confirmed, failed, empty, blocked };
    },
  };
}
