// The Esplora REST backend (mempool.space, Blockstream, electrs, or the sandbox facade over a node):
// no node of our own, so instead of scanning blocks it polls the addresses of open invoices (mempool
// and chain history), asks for the status of payments it no longer sees, and asks who spent their
// inputs (`/tx/:txid/outspend/:vout`) to tell a replacement from a reorg. Every call has a timeout,
// and 429/5xx answers are retried with backoff (honouring Retry-After).
import { UpstreamError } from '../../../lib/errors';
import { fetchText } from '../../../lib/http';
import type { Logger } from '../../../lib/log';
import type { UtxoNetworkId } from '../params';
import {
  type ChainTx,
  type KnownPayment,
  type Observation,
  type ObservedOutput,
  type ObserveInput,
  outpoint,
  signalsRbf,
  type UtxoBackend,
  type Verdict,
} from './types';

export interface EsploraClientOptions {
  /** e.g. https://mempool.space/testnet4/api (no trailing slash needed). */
  readonly baseUrl: string;
  readonly timeoutMs?: number;
  /** Extra attempts after 429/5xx/network failures; default 3. */
  readonly retries?: number;
  /** First backoff delay, doubled each retry (Retry-After wins when given); default 500 ms. */
  readonly retryDelayMs?: number;
  /** Longest wait between attempts; default 10 s. */
  readonly maxRetryDelayMs?: number;
  readonly fetchImpl?: typeof fetch;
}

export interface EsploraStatus {
  readonly confirmed: boolean;
  readonly block_height?: number;
  readonly block_hash?: string;
  readonly block_time?: number;
}

export interface EsploraTx {
  readonly txid: string;
  readonly vin: readonly {
    readonly txid: string;
    readonly vout: number;
    readonly is_coinbase?: boolean;
    readonly sequence: number;
    readonly prevout: {
      readonly scriptpubkey: string;
      readonly scriptpubkey_address?: string;
      readonly value: number;
    } | null;
  }[];
  readonly vout: readonly {
    readonly scriptpubkey: string;
    readonly scriptpubkey_address?: string;
    readonly value: number;
  }[];
  readonly status: EsploraStatus;
}

export interface EsploraOutspend {
  readonly spent: boolean;
  readonly txid?: string;
  readonly vin?: number;
  readonly status?: EsploraStatus;
}

/** The service answered something we cannot use (shape, status). */
export class EsploraError extends UpstreamError {
  override name = 'EsploraError' as const;
  /** The HTTP status the service answered with, if it answered. */
  readonly httpStatus: number | undefined;
  constructor(message: string, httpStatus?: number, cause?: unknown) {
    super('esplora_error', message, cause, httpStatus === undefined ? {} : { httpStatus });
    this.httpStatus = httpStatus;
  }
}

export interface EsploraClient {
  readonly baseUrl: string;
  tipHeight(): Promise<number>;
  tipHash(): Promise<string>;
  /** Newest first: up to 50 mempool transactions, then up to 25 confirmed. */
  addressTxs(address: string): Promise<EsploraTx[]>;
  /** Confirmed transactions older than `lastSeenTxid` (25 per page). */
  addressTxsChain(address: string, lastSeenTxid: string): Promise<EsploraTx[]>;
  /** Undefined when the service does not know the transaction (404). */
  tx(txid: string): Promise<EsploraTx | undefined>;
  txStatus(txid: string): Promise<EsploraStatus | undefined>;
  /** Undefined when the transaction is unknown. */
  outspend(txid: string, vout: number): Promise<EsploraOutspend | undefined>;
  broadcast(hex: string): Promise<string>;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const HEX64 = /^[0-9a-f]{64}$/;

export function createEsploraClient(options: EsploraClientOptions): EsploraClient {
  const base = options.baseUrl.replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? 10_000;
  const retries = options.retries ?? 3;
  const firstDelay = options.retryDelayMs ?? 500;
  const maxDelay = options.maxRetryDelayMs ?? 10_000;

  /** GET/POST with retries; 404 → undefined; other non-2xx → EsploraError. */
  async function request(
    path: string,
    init: { method?: string; body?: string } = {},
  ): Promise<string | undefined> {
    for (let attempt = 0; ; attempt++) {
      let wait = Math.min(maxDelay, firstDelay * 2 ** attempt);
      try {
        const res = await fetchText(`${base}${path}`, {
          method: init.method ?? 'GET',
          ...(init.body !== undefined ? { body: init.body, headers: { 'content-type': 'text/plain' } } : {}),
          timeoutMs,
          maxBytes: 20 * 1024 * 1024,
          ...(options.fetchImpl ? { fetchImpl: options.fetchImpl } : {}),
        });
        if (res.status >= 200 && res.status < 300) return res.text;
        if (res.status === 404) return undefined;
        const retryable = res.status === 429 || res.status >= 500;
        if (!retryable || attempt >= retries) {
          throw new EsploraError(
            `esplora ${path} answered HTTP ${res.status}: ${res.text.slice(0, 200)}`,
            res.status,
          );
        }
        const after = Number(res.headers.get('retry-after'));
        if (Number.isFinite(after) && after >= 0) wait = Math.min(maxDelay, after * 1000);
      } catch (err) {
        if (err instanceof EsploraError || attempt >= retries) {
          if (err instanceof UpstreamError) throw err;
          throw new EsploraError(`esplora ${path}: ${(err as Error).message}`, undefined, err);
        }
      }
      await sleep(wait);
    }
  }

  async function json<T>(path: string): Promise<T | undefined> {
    const text = await request(path);
    if (text === undefined) return undefined;
    try {
      return JSON.parse(text) as T;
    } catch (err) {
      throw new EsploraError(`esplora ${path}: the answer is not JSON`, undefined, err);
    }
  }

  const must = <T>(path: string, v: T | undefined): T => {
    if (v === undefined) throw new EsploraError(`esplora ${path}: not found`, 404);
    return v;
  };
  const addr = (a: string) => encodeURIComponent(a);
  const txidOk = (t: string) => {
    if (!HEX64.test(t)) throw new EsploraError(`not a transaction id: ${t.slice(0, 80)}`);
    return t;
  };

  return {
    baseUrl: base,
    async tipHeight() {
      const text = must('/blocks/tip/height', await request('/blocks/tip/height')).trim();
      if (!/^[0-9]+$/.test(text))
        throw new EsploraError(`esplora tip height is not a number: ${text.slice(0, 40)}`);
      return Number(text);
    },
    async tipHash() {
      const text = must('/blocks/tip/hash', await request('/blocks/tip/hash')).trim();
      return txidOk(text);
    },
    async addressTxs(a) {
      return (await json<EsploraTx[]>(`/address/${addr(a)}/txs`)) ?? [];
    },
    async addressTxsChain(a, last) {
      return (await json<EsploraTx[]>(`/address/${addr(a)}/txs/chain/${txidOk(last)}`)) ?? [];
    },
    tx: (txid) => json<EsploraTx>(`/tx/${txidOk(txid)}`),
    txStatus: (txid) => json<EsploraStatus>(`/tx/${txidOk(txid)}/status`),
    outspend: (txid, vout) => json<EsploraOutspend>(`/tx/${txidOk(txid)}/outspend/${vout}`),
    async broadcast(hex) {
      if (!/^[0-9a-fA-F]+$/.test(hex)) throw new EsploraError('not a raw transaction (hex expected)');
      const text = must('/tx', await request('/tx', { method: 'POST', body: hex })).trim();
      return txidOk(text);
    },
  };
}

function sats(v: unknown, what: string): bigint {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new EsploraError(`esplora ${what}: value is not a whole number of satoshis`);
  }
  return BigInt(v);
}

/** Esplora's transaction → ChainTx (values are integer satoshis/litoshis in Esplora). */
export function esploraTxToChainTx(tx: EsploraTx): ChainTx {
  return {
    txid: tx.txid,
    inputs: tx.vin.map((i) =>
      i.is_coinbase
        ? { prevTxid: null, prevVout: 0, sequence: i.sequence }
        : {
            prevTxid: i.txid,
            prevVout: i.vout,
            sequence: i.sequence,
            ...(i.prevout ? { prevScriptHex: i.prevout.scriptpubkey.toLowerCase() } : {}),
          },
    ),
    outputs: tx.vout.map((o, n) => ({
      n,
      scriptHex: o.scriptpubkey.toLowerCase(),
      valueAtomic: sats(o.value, tx.txid),
    })),
  };
}

export interface EsploraBackendOptions {
  readonly network: UtxoNetworkId;
  readonly client: EsploraClient;
  /** Parallel address look-ups; default 4. */
  readonly concurrency?: number;
  /** Extra pages of confirmed history per address (25 each) beyond the first; default 3. */
  readonly maxChainPages?: number;
  readonly logger?: Logger;
}

export interface EsploraCursor {
  readonly tipHeight: number;
  readonly tipHash: string;
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (x: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

export function createEsploraBackend(options: EsploraBackendOptions): UtxoBackend {
  const { client, network } = options;
  const concurrency = options.concurrency ?? 4;
  const maxPages = options.maxChainPages ?? 3;

  async function history(address: string): Promise<EsploraTx[]> {
    const first = await client.addressTxs(address);
    const all = [...first];
    let confirmed = first.filter((t) => t.status.confirmed);
    for (let page = 0; page < maxPages && confirmed.length >= 25; page++) {
      const more = await client.addressTxsChain(address, confirmed[confirmed.length - 1]!.txid);
      all.push(...more);
      confirmed = more;
    }
    return all;
  }

  /** Who spent a counted payment's inputs, now that the payment itself is unknown. */
  async function judgeMissing(p: KnownPayment, spends: ReadonlyMap<string, string>): Promise<Verdict> {
    for (const op of p.inputs) {
      const by = spends.get(op);
      if (by) return { kind: 'gone', reason: 'replaced', replacedBy: by };
    }
    for (const op of p.inputs) {
      const [prev, n] = op.split(':') as [string, string];
      const out = await client.outspend(prev, Number(n));
      if (out?.spent && out.txid && out.txid !== p.txid) {
        return { kind: 'gone', reason: 'replaced', replacedBy: out.txid };
      }
    }
    return { kind: 'gone', reason: 'reorged' };
  }

  return {
    kind: 'esplora',
    network,
    broadcast: (hex) => client.broadcast(hex),
    async observe(input: ObserveInput): Promise<Observation> {
      const tip = await client.tipHeight();
      const tipHash = await client.tipHash();
      const payerOf = new Map<string, string>();
      for (const p of input.known.values()) for (const op of p.inputs) payerOf.set(op, p.txid);

      const addresses = [...input.watched.addresses.keys()];
      const lists = await mapLimit(addresses, concurrency, history);
      const txs = new Map<string, EsploraTx>();
      for (const list of lists) for (const t of list) txs.set(t.txid, t);

      const scripts = input.watched.scripts;
      const outputs: ObservedOutput[] = [];
      const spends = new Map<string, string>();
      for (const raw of txs.values()) {
        const tx = esploraTxToChainTx(raw);
        for (const i of tx.inputs) {
          if (!i.prevTxid) continue;
          const op = outpoint(i.prevTxid, i.prevVout);
          const payer = payerOf.get(op);
          if (payer !== undefined && payer !== tx.txid) spends.set(op, tx.txid);
        }
        const confirmed = raw.status.confirmed && raw.status.block_height !== undefined;
        const height = confirmed ? raw.status.block_height! : null;
        const inputs = tx.inputs.filter((i) => i.prevTxid).map((i) => outpoint(i.prevTxid!, i.prevVout));
        const from = [
          ...new Set(raw.vin.map((i) => i.prevout?.scriptpubkey_address).filter((a): a is string => !!a)),
        ];
        for (const o of tx.outputs) {
          if (!scripts.has(o.scriptHex)) continue;
          outputs.push({
            txid: tx.txid,
            vout: o.n,
            scriptHex: o.scriptHex,
            valueAtomic: o.valueAtomic,
            confirmations: height === null ? 0 : Math.max(1, tip - height + 1),
            blockHash: confirmed ? (raw.status.block_hash ?? null) : null,
            blockHeight: height,
            rbf: signalsRbf(tx),
            inputs,
            fromAddresses: from,
          });
        }
      }

      const verdicts = new Map<string, Verdict>();
      const statusOf = (s: EsploraStatus): Verdict =>
        s.confirmed && s.block_height !== undefined && s.block_hash
          ? {
              kind: 'confirmed',
              blockHash: s.block_hash,
              blockHeight: s.block_height,
              confirmations: Math.max(1, tip - s.block_height + 1),
            }
          : { kind: 'mempool' };
      await mapLimit([...input.known.values()], concurrency, async (p) => {
        const seen = txs.get(p.txid);
        if (seen) {
          verdicts.set(p.txid, statusOf(seen.status));
          return;
        }
        const status = await client.txStatus(p.txid);
        verdicts.set(p.txid, status ? statusOf(status) : await judgeMissing(p, spends));
      });

      const cursor: EsploraCursor = { tipHeight: tip, tipHash };
      return {
        cursor,
        tipHeight: tip,
        outputs,
        verdicts,
        caughtUp: true,
        stats: { addresses: addresses.length, txs: txs.size },
      };
    },
  };
}
