// A Bitcoin Core-compatible JSON-RPC client (bitcoind, litecoind): basic auth, a timeout and
// retries on every call, batches, and amounts kept exact. Core prints amounts as JSON numbers with
// eight decimals ("value":0.50000000); JSON.parse would turn them into binary floats, so the amount
// fields are quoted before parsing and read with parseUnits — no float ever touches the money path.
import { base64 } from '@scure/base';
import { UpstreamError } from '../../../lib/errors';
import { fetchText, TimeoutError } from '../../../lib/http';
import { parseUnits } from '../../../lib/money';

export interface RpcClientOptions {
  /** `http://user:password@host:port` (credentials may also be given separately). */
  readonly url: string;
  readonly user?: string;
  readonly password?: string;
  /** Per attempt; default 10 s. */
  readonly timeoutMs?: number;
  /** Extra attempts after a transient failure (network, timeout, 5xx, warming up); default 2. */
  readonly retries?: number;
  /** First backoff delay, doubled each retry; default 200 ms. */
  readonly retryDelayMs?: number;
  /** Response size cap; a verbose block of a full Bitcoin block is tens of MB. Default 256 MB. */
  readonly maxBytes?: number;
  readonly fetchImpl?: typeof fetch;
}

export interface CallOptions {
  /** False for calls that must not be repeated blindly (none of ours today). */
  readonly retry?: boolean;
  readonly timeoutMs?: number;
}

/** The node answered with a JSON-RPC error (`rpcCode` is Core's code, e.g. -5 not found). */
export class RpcError extends UpstreamError {
  override name = 'RpcError' as const;
  readonly rpcCode: number;
  readonly method: string;
  constructor(method: string, rpcCode: number, message: string) {
    super('rpc_error', `${method}: ${message} (code ${rpcCode})`, undefined, { method, rpcCode });
    this.rpcCode = rpcCode;
    this.method = method;
  }
}

/** Core's error codes we act on. */
export const RPC_CODES = {
  /** RPC_INVALID_ADDRESS_OR_KEY: no such transaction/block. */
  notFound: -5,
  /** RPC_IN_WARMUP: the node is starting; retry. */
  warmup: -28,
  /** RPC_INVALID_PARAMETER (block height out of range, …). */
  invalidParameter: -8,
  /** RPC_VERIFY_ALREADY_IN_CHAIN. */
  alreadyInChain: -27,
  /** RPC_VERIFY_REJECTED / RPC_VERIFY_ERROR. */
  rejected: -26,
  verifyError: -25,
  methodNotFound: -32601,
} as const;

/** Positional parameters, or named ones (Core accepts an object). Send amounts as strings. */
export type RpcParams = readonly unknown[] | Readonly<Record<string, unknown>>;

export interface RpcClient {
  /** The URL without credentials (safe to log). */
  readonly url: string;
  call<T = unknown>(method: string, params?: RpcParams, opts?: CallOptions): Promise<T>;
  /** One HTTP request for many calls; each result is the value or its RpcError. */
  batch<T = unknown>(calls: readonly (readonly [string, RpcParams])[]): Promise<(T | RpcError)[]>;
  /** The same node under another path, e.g. `/wallet/<name>` for wallet calls. */
  withPath(path: string): RpcClient;
}

const AMOUNT_KEYS =
  /"(value|amount|fee|base|modified|ancestor|descendant)":(-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?)/g;

/**
 * Parses a Core response keeping amounts exact: `"value":0.5` becomes `"value":"0.5"`. A quote inside
 * a JSON string is always escaped, so `"value":` can only match a real key.
 */
export function parseRpcJson(text: string): unknown {
  return JSON.parse(text.replace(AMOUNT_KEYS, '"$1":"$2"'));
}

/** Atomic units (sats, litoshi) of an amount as parseRpcJson left it (a decimal string in coins). */
export function coinsToAtomic(value: unknown, decimals = 8): bigint {
  if (typeof value !== 'string') throw new UpstreamError('rpc_malformed', 'amount is not a decimal');
  const neg = value.startsWith('-');
  const text = neg ? value.slice(1) : value;
  if (/[eE]/.test(text)) throw new UpstreamError('rpc_malformed', `amount "${value}" has an exponent`);
  const atomic = parseUnits(text, decimals);
  return neg ? -atomic : atomic;
}

interface RpcResponse {
  result?: unknown;
  error?: { code: number; message: string } | null;
  id?: unknown;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function transient(err: unknown): boolean {
  if (err instanceof RpcError) return err.rpcCode === RPC_CODES.warmup;
  if (err instanceof TimeoutError) return true;
  if (err instanceof UpstreamError) return err.code === 'rpc_unavailable' || err.code === 'rpc_status';
  return true; // network errors from fetch
}

export function createRpcClient(options: RpcClientOptions): RpcClient {
  const parsed = new URL(options.url);
  const user = options.user ?? decodeURIComponent(parsed.username);
  const password = options.password ?? decodeURIComponent(parsed.password);
  parsed.username = '';
  parsed.password = '';
  const base = parsed.toString().replace(/\/+$/, '');
  const auth =
    user || password ? `Basic ${base64.encode(new TextEncoder().encode(`${user}:${password}`))}` : undefined;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const retries = options.retries ?? 2;
  const retryDelayMs = options.retryDelayMs ?? 200;
  const maxBytes = options.maxBytes ?? 256 * 1024 * 1024;
  let nextId = 1;

  const post = async (url: string, body: string, what: string, callTimeout: number): Promise<unknown> => {
    let res: Awaited<ReturnType<typeof fetchText>>;
    try {
      res = await fetchText(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(auth ? { authorization: auth } : {}) },
        body,
        timeoutMs: callTimeout,
        maxBytes,
        ...(options.fetchImpl ? { fetchImpl: options.fetchImpl } : {}),
      });
    } catch (err) {
      if (err instanceof TimeoutError || err instanceof UpstreamError) throw err;
      throw new UpstreamError('rpc_unavailable', `${what}: node at ${base} unreachable`, err);
    }
    if (res.status === 401 || res.status === 403) {
      throw new UpstreamError('rpc_auth', `${what}: the node refused the credentials (HTTP ${res.status})`);
    }
    // Core answers RPC errors with HTTP 500/404 and a JSON body; anything else is a transport failure.
    let json: unknown;
    try {
      json = parseRpcJson(res.text);
    } catch (err) {
      if (res.status >= 500 || res.status === 429) {
        throw new UpstreamError('rpc_status', `${what}: node answered HTTP ${res.status}`, err);
      }
      throw new UpstreamError('rpc_malformed', `${what}: node answered with a body that is not JSON`, err);
    }
    return json;
  };

  const withRetries = async <T>(fn: () => Promise<T>, retry: boolean): Promise<T> => {
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        if (!retry || attempt >= retries || !transient(err)) throw err;
        await sleep(retryDelayMs * 2 ** attempt);
      }
    }
  };

  const make = (url: string): RpcClient => ({
    url,
    async call<T>(method: string, params: RpcParams = [], opts: CallOptions = {}): Promise<T> {
      return withRetries(async () => {
        const id = nextId++;
        const body = JSON.stringify({ jsonrpc: '1.0', id, method, params });
        const json = (await post(url, body, method, opts.timeoutMs ?? timeoutMs)) as RpcResponse;
        if (json.error) throw new RpcError(method, json.error.code, json.error.message);
        if (!('result' in json)) throw new UpstreamError('rpc_malformed', `${method}: no result in answer`);
        return json.result as T;
      }, opts.retry ?? true);
    },
    async batch<T>(calls: readonly (readonly [string, RpcParams])[]): Promise<(T | RpcError)[]> {
      if (calls.length === 0) return [];
      return withRetries(async () => {
        const first = nextId;
        nextId += calls.length;
        const body = JSON.stringify(
          calls.map(([method, params], i) => ({ jsonrpc: '1.0', id: first + i, method, params })),
        );
        const json = await post(url, body, `batch of ${calls.length}`, timeoutMs);
        if (!Array.isArray(json)) {
          const e = (json as RpcResponse).error;
          if (e) throw new RpcError('batch', e.code, e.message);
          throw new UpstreamError('rpc_malformed', 'batch: the node did not answer with an array');
        }
        const byId = new Map<number, RpcResponse>();
        for (const r of json as RpcResponse[]) byId.set(Number(r.id), r);
        return calls.map(([method], i) => {
          const r = byId.get(first + i);
          if (!r) return new RpcError(method, 0, 'no answer in batch');
          if (r.error) return new RpcError(method, r.error.code, r.error.message);
          return r.result as T;
        });
      }, true);
    },
    withPath(path: string) {
      return make(`${base}${path.startsWith('/') ? path : `/${path}`}`);
    },
  });
  return make(base);
}

/** Throws the first RpcError of a batch result (for batches where every call must succeed). */
export function unwrapBatch<T>(results: readonly (T | RpcError)[]): T[] {
  for (const r of results) if (r instanceof RpcError) throw r;
  return results as T[];
}
