// The Esplora REST backend (mempool.space, Blockstream, electrs, or the sandbox facade over a node):
// no node of our own, so instead of scanning blocks it polls the addresses of open invoices (mempool
// and chain history), asks for the status of payments it no longer sees, and asks who spent their
// inputs (`/tx/:txid/outspend/:vout`) to tell a replacement from a reorg. Every call has a timeout,
// and 429/5xx answers are retried with backoff (honouring Retry-After). Every JSON answer is checked
// against the documented shape (Blockstream/esplora API.md) before anything is read from it: a
// malformed answer fails the look-up with the offending field named, it never credits a payment.
// Which addresses are polled when is decided by the schedule (poll-schedule.ts), not here.
import { z } from 'zod';
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
  /**
   * False: a 429 is not waited out here but thrown at once (with `retryAfterMs`), for a caller that
   * keeps its own schedule and must not hold a tick while a public service cools down. Default true.
   */
  readonly retryRateLimited?: boolean;
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
  /** From a 429's Retry-After header, when it had one. */
  readonly retryAfterMs: number | undefined;
  constructor(message: string, httpStatus?: number, cause?: unknown, retryAfterMs?: number) {
    super('esplora_error', message, cause, httpStatus === undefined ? {} : { httpStatus });
    this.httpStatus = httpStatus;
    this.retryAfterMs = retryAfterMs;
  }
}

// The documented shapes (Blockstream/esplora API.md, "Transaction format"; electrs answers the same).
// Only the fields the gateway reads are required; others pass through unread.
const hex64 = z.string().regex(/^[0-9a-fA-F]{64}$/, 'expected a 64-digit hex id');
const scriptHex = z.string().regex(/^(?:[0-9a-fA-F]{2})*$/, 'expected a hex script');
const satsValue = z
  .number()
  .int('expected a whole number of satoshis')
  .nonnegative()
  .max(Number.MAX_SAFE_INTEGER);
const StatusSchema = z
  .object({
    confirmed: z.boolean(),
    block_height: z.number().int().nonnegative().optional(),
    block_hash: hex64.optional(),
    block_time: z.number().optional(),
  })
  .refine((s) => !s.confirmed || (s.block_height !== undefined && s.block_hash !== undefined), {
    message: 'a confirmed status needs block_height and block_hash',
  });
const OutSchema = z.object({
  scriptpubkey: scriptHex,
  scriptpubkey_address: z.string().optional(),
  value: satsValue,
});
const TxSchema = z.object({
  txid: hex64,
  vin: z.array(
    z.object({
      txid: hex64,
      vout: z.number().int().nonnegative(),
      is_coinbase: z.boolean().optional(),
      sequence: z.number().int().nonnegative().max(0xffffffff),
      prevout: OutSchema.nullable(),
    }),
  ),
  vout: z.array(OutSchema),
  status: StatusSchema,
});
const OutspendSchema = z
  .object({
    spent: z.boolean(),
    txid: hex64.optional(),
    vin: z.number().int().optional(),
    status: StatusSchema.optional(),
  })
  .refine((o) => !o.spent || o.txid !== undefined, { message: 'a spent output needs the spending txid' });

/** Checks an answer against its schema; the error names the path of the first bad field. */
function checked<T>(schema: z.ZodType<T>, value: unknown, path: string): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const at = issue.path.length
    ? issue.path.map((k) => (typeof k === 'number' ? `[${k}]` : `.${String(k)}`)).join('')
    : '(root)';
  throw new EsploraError(`esplora ${path}: malformed answer at ${at}: ${issue.message}`);
}

export interface EsploraClient {
  readonly baseUrl: string;
  /** HTTP requests sent so far, retries included (budget accounting). */
  readonly requests: number;
  tipHeight(): Promise<number>;
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

const TxListSchema = z.array(TxSchema);

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Retry-After in seconds or as an HTTP date; undefined when absent or unreadable. */
function retryAfterMs(header: string | null): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  const v = header.trim();
  if (/^[0-9]+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}
const HEX64 = /^[0-9a-f]{64}$/;

export function createEsploraClient(options: EsploraClientOptions): EsploraClient {
  const base = options.baseUrl.replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? 10_000;
  const retries = options.retries ?? 3;
  const firstDelay = options.retryDelayMs ?? 500;
  const maxDelay = options.maxRetryDelayMs ?? 10_000;
  const retryRateLimited = options.retryRateLimited ?? true;
  let requests = 0;

  /** GET/POST with retries; 404 → undefined; other non-2xx → EsploraError. */
  async function request(
    path: string,
    init: { method?: string; body?: string } = {},
  ): Promise<string | undefined> {
    for (let attempt = 0; ; attempt++) {
      let wait = Math.min(maxDelay, firstDelay * 2 ** attempt);
      try {
        requests++;
        const res = await fetchText(`${base}${path}`, {
          method: init.method ?? 'GET',
          ...(init.body !== undefined ? { body: init.body, headers: { 'content-type': 'text/plain' } } : {}),
          timeoutMs,
          maxBytes: 20 * 1024 * 1024,
          ...(options.fetchImpl ? { fetchImpl: options.fetchImpl } : {}),
        });
        if (res.status >= 200 && res.status < 300) return res.text;
        if (res.status === 404) return undefined;
        const retryable = (res.status === 429 && retryRateLimited) || res.status >= 500;
        const afterMs = retryAfterMs(res.headers.get('retry-after'));
        if (!retryable || attempt >= retries) {
          throw new EsploraError(
            `esplora ${path} answered HTTP ${res.status}: ${res.text.slice(0, 200)}`,
            res.status,
            undefined,
            res.status === 429 ? afterMs : undefined,
          );
        }
        if (afterMs !== undefined) wait = Math.min(maxDelay, afterMs);
      } catch (err) {
        if (err instanceof EsploraError || attempt >= retries) {
          if (err instanceof UpstreamError) throw err;
          throw new EsploraError(`esplora ${path}: ${(err as Error).message}`, undefined, err);
        }
      }
      await sleep(wait);
    }
  }

  async function json<T>(path: string, schema: z.ZodType<T>): Promise<T | undefined> {
    const text = await request(path);
    if (text === undefined) return undefined;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw new EsploraError(`esplora ${path}: the answer is not JSON`, undefined, err);
    }
    return checked(schema, value, path);
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
    get requests() {
      return requests;
    },
    async tipHeight() {
      const text = must('/blocks/tip/height', await request('/blocks/tip/height')).trim();
      if (!/^[0-9]+$/.test(text))
        throw new EsploraError(`esplora tip height is not a number: ${text.slice(0, 40)}`);
      return Number(text);
    },
    async addressTxs(a) {
      return (await json(`/address/${addr(a)}/txs`, TxListSchema)) ?? [];
    },
    async addressTxsChain(a, last) {
      return (await json(`/address/${addr(a)}/txs/chain/${txidOk(last)}`, TxListSchema)) ?? [];
    },
    tx: (txid) => json(`/tx/${txidOk(txid)}`, TxSchema),
    txStatus: (txid) => json(`/tx/${txidOk(txid)}/status`, StatusSchema),
    outspend: (txid, vout) => json(`/tx/${txidOk(txid)}/outspend/${vout}`, OutspendSchema),
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

/** Informational (Esplora answers by address, so a round needs no position): the tip it saw. */
export interface EsploraCursor {
  readonly tipHeight: number;
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (x: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  let failed = false;
  // After one failure (a 429 above all) no further item is started: each would be one more request.
  const worker = async () => {
    while (next < items.length && !failed) {
      const i = next++;
      try {
        out[i] = await fn(items[i]!);
      } catch (err) {
        failed = true;
        throw err;
      }
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
      const requestsBefore = client.requests;
      // One request for the tip per round: public Esplora servers rate-limit by request.
      const tip = await client.tipHeight();
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

      const cursor: EsploraCursor = { tipHeight: tip };
      return {
        cursor,
        tipHeight: tip,
        outputs,
        verdicts,
        caughtUp: true,
        stats: { addresses: addresses.length, txs: txs.size, requests: client.requests - requestsBefore },
      };
    },
  };
}
