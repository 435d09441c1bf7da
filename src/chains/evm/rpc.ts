// A small JSON-RPC client for EVM nodes: every call has a timeout and retries, and several URLs per
// network are tried in order (a URL that just failed is tried last for a while, so one dead node does
// not cost a timeout on every call). Deterministic answers (a revert, bad params) are not retried.
// Plain fetch, no ethers provider: it runs on Node and Workers alike and never caches an answer.
import { AppError } from '../../lib/errors';
import { fetchText } from '../../lib/http';
import type { Logger } from '../../lib/log';

/** Every URL failed on every attempt (transport errors, timeouts, HTTP errors, node overload). */
export class EvmRpcUnavailableError extends AppError {
  override name = 'EvmRpcUnavailableError' as const;
  constructor(method: string, cause: unknown, context: Record<string, unknown>) {
    super(
      'evm_rpc_unavailable',
      `EVM node unavailable for ${method}: ${(cause as Error)?.message ?? cause}`,
      {
        status: 503,
        cause,
        context,
        headers: { 'Retry-After': '5' },
      },
    );
  }
}

/** The node answered with a JSON-RPC error that retrying will not change (revert, invalid params). */
export class EvmRpcResponseError extends AppError {
  override name = 'EvmRpcResponseError' as const;
  constructor(
    readonly method: string,
    readonly rpcCode: number,
    rpcMessage: string,
    readonly data: unknown,
  ) {
    super('evm_rpc_error', `${method}: ${rpcMessage} (${rpcCode})`, { status: 502, context: { rpcCode } });
  }
}

class RetryableRpcError extends Error {
  override name = 'RetryableRpcError';
}

// Overload, rate limits and "try again" answers from common providers; everything else is final.
const RETRYABLE_RPC_CODES = new Set([-32603, -32005, -32002, -32001, 429]);

export interface EvmRpcOptions {
  readonly urls: readonly string[];
  readonly timeoutMs: number;
  /** Extra rounds over all URLs after the first (default 2). */
  readonly retries?: number;
  /** Pause before each extra round, doubled every round (default 100 ms). */
  readonly backoffMs?: number;
  /** How long a failed URL goes to the back of the queue (default 30 s). */
  readonly cooldownMs?: number;
  readonly logger?: Logger;
  readonly fetchImpl?: typeof fetch;
  /** Cap on one answer (a block with full transactions can be megabytes); default 64 MiB. */
  readonly maxBytes?: number;
}

export interface EvmRpc {
  readonly urls: readonly string[];
  call<T>(method: string, params?: readonly unknown[]): Promise<T>;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function createEvmRpc(options: EvmRpcOptions): EvmRpc {
  if (options.urls.length === 0) throw new RangeError('an EVM RPC client needs at least one URL');
  const urls = [...options.urls];
  const retries = options.retries ?? 2;
  const backoffMs = options.backoffMs ?? 100;
  const cooldownMs = options.cooldownMs ?? 30_000;
  const downUntil = urls.map(() => 0);
  let nextId = 1;

  async function once(url: string, method: string, params: readonly unknown[]): Promise<unknown> {
    const id = nextId++;
    const res = await fetchText(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id, method, params }),
      timeoutMs: options.timeoutMs,
      maxBytes: options.maxBytes ?? 64 * 1024 * 1024,
      redirect: 'error',
      ...(options.fetchImpl ? { fetchImpl: options.fetchImpl } : {}),
    });
    if (res.status < 200 || res.status > 299) throw new RetryableRpcError(`HTTP ${res.status}`);
    let body: { result?: unknown; error?: { code?: unknown; message?: unknown; data?: unknown } };
    try {
      body = JSON.parse(res.text);
    } catch {
      throw new RetryableRpcError('the answer is not JSON');
    }
    if (body === null || typeof body !== 'object') throw new RetryableRpcError('the answer is not an object');
    if (body.error) {
      const code = typeof body.error.code === 'number' ? body.error.code : 0;
      const message = typeof body.error.message === 'string' ? body.error.message : 'error';
      if (RETRYABLE_RPC_CODES.has(code)) throw new RetryableRpcError(`${message} (${code})`);
      throw new EvmRpcResponseError(method, code, message, body.error.data);
    }
    if (!('result' in body)) throw new RetryableRpcError('the answer has neither result nor error');
    return body.result;
  }

  /** Healthy URLs first, in the configured order; then those cooling down after a failure. */
  function order(now: number): number[] {
    const idx = urls.map((_, i) => i);
    return [...idx.filter((i) => downUntil[i]! <= now), ...idx.filter((i) => downUntil[i]! > now)];
  }

  return {
    urls,
    async call<T>(method: string, params: readonly unknown[] = []): Promise<T> {
      let last: unknown;
      for (let round = 0; round <= retries; round++) {
        if (round > 0) await sleep(backoffMs * 2 ** (round - 1));
        for (const i of order(Date.now())) {
          try {
            const result = await once(urls[i]!, method, params);
            downUntil[i] = 0;
            return result as T;
          } catch (err) {
            if (err instanceof EvmRpcResponseError) throw err;
            last = err;
            downUntil[i] = Date.now() + cooldownMs;
            options.logger?.debug('evm rpc call failed', { method, url: urls[i], round, err });
          }
        }
      }
      throw new EvmRpcUnavailableError(method, last, {
        urls: urls.length,
        attempts: (retries + 1) * urls.length,
      });
    },
  };
}

// ---------------------------------------------------------------- typed helpers

export interface RpcTransaction {
  readonly hash: string;
  readonly from: string;
  readonly to: string | null;
  readonly value: string;
  readonly input?: string;
  readonly blockNumber: string | null;
  readonly blockHash: string | null;
}

export interface RpcBlockHeader {
  readonly number: string;
  readonly hash: string;
  readonly parentHash: string;
  readonly timestamp: string;
  readonly baseFeePerGas?: string;
}

export interface RpcBlock<T = RpcTransaction | string> extends RpcBlockHeader {
  readonly transactions: readonly T[];
}

export interface RpcLog {
  readonly address: string;
  readonly topics: readonly string[];
  readonly data: string;
  readonly blockNumber: string;
  readonly blockHash: string;
  readonly transactionHash: string;
  readonly logIndex: string;
  readonly removed?: boolean;
}

export interface RpcReceipt {
  readonly transactionHash: string;
  readonly blockHash: string;
  readonly blockNumber: string;
  readonly status: string;
  readonly from: string;
  readonly to: string | null;
  readonly logs: readonly RpcLog[];
  readonly gasUsed: string;
  readonly effectiveGasPrice?: string;
}

export interface LogFilter {
  readonly fromBlock: number;
  readonly toBlock: number;
  readonly address: string | readonly string[];
  readonly topics?: readonly (string | readonly string[] | null)[];
}

export const toQuantity = (n: number | bigint): string => `0x${n.toString(16)}`;
export const fromQuantity = (q: string): number => Number(BigInt(q));

export async function blockNumber(rpc: EvmRpc): Promise<number> {
  return fromQuantity(await rpc.call<string>('eth_blockNumber'));
}

export function getBlockWithTxs(rpc: EvmRpc, n: number): Promise<RpcBlock<RpcTransaction> | null> {
  return rpc.call('eth_getBlockByNumber', [toQuantity(n), true]);
}

export function getBlockHeader(rpc: EvmRpc, n: number | 'latest'): Promise<RpcBlock<string> | null> {
  return rpc.call('eth_getBlockByNumber', [n === 'latest' ? n : toQuantity(n), false]);
}

export function getLogs(rpc: EvmRpc, f: LogFilter): Promise<RpcLog[]> {
  return rpc.call('eth_getLogs', [
    {
      fromBlock: toQuantity(f.fromBlock),
      toBlock: toQuantity(f.toBlock),
      address: f.address,
      ...(f.topics ? { topics: f.topics } : {}),
    },
  ]);
}

export function getReceipt(rpc: EvmRpc, txHash: string): Promise<RpcReceipt | null> {
  return rpc.call('eth_getTransactionReceipt', [txHash]);
}

export function ethCall(rpc: EvmRpc, to: string, data: string, block: number | 'latest' = 'latest') {
  return rpc.call<string>('eth_call', [{ to, data }, block === 'latest' ? block : toQuantity(block)]);
}

export async function getBalance(rpc: EvmRpc, address: string): Promise<bigint> {
  return BigInt(await rpc.call<string>('eth_getBalance', [address, 'latest']));
}

/** Runs `fn` over `items` with at most `limit` in flight, keeping the order of results. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (t: T) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
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
