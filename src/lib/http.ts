// Every call to an outside service goes through here: a hard timeout, no redirect surprises,
// and a body size cap, so a slow or hostile upstream can never hang a tick or exhaust memory.
import { UpstreamError } from './errors';

export interface FetchOptions {
  readonly method?: string;
  readonly headers?: Record<string, string>;
  readonly body?: string | Uint8Array;
  readonly timeoutMs: number;
  /** `manual` returns 3xx as they are (webhooks must not follow redirects). */
  readonly redirect?: 'follow' | 'manual' | 'error';
  readonly maxBytes?: number;
  readonly signal?: AbortSignal;
  readonly fetchImpl?: typeof fetch;
}

export interface FetchResult {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  readonly durationMs: number;
}

export class TimeoutError extends Error {
  override readonly name = 'TimeoutError';
  readonly code = 'timeout';
}

/** Fetches with a timeout covering connect, headers and body; throws TimeoutError or the network error. */
export async function fetchText(url: string, options: FetchOptions): Promise<FetchResult> {
  const controller = new AbortController();
  const started = Date.now();
  const timer = setTimeout(
    () => controller.abort(new TimeoutError(`timed out after ${options.timeoutMs} ms`)),
    options.timeoutMs,
  );
  const onOuterAbort = () => controller.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', onOuterAbort, { once: true });
  try {
    const res = await (options.fetchImpl ?? fetch)(url, {
      method: options.method ?? 'GET',
      headers: options.headers,
      body: options.body as BodyInit | undefined,
      redirect: options.redirect ?? 'follow',
      signal: controller.signal,
    });
    const text = await readLimited(res, options.maxBytes ?? 5 * 1024 * 1024);
    return { status: res.status, headers: res.headers, text, durationMs: Date.now() - started };
  } catch (err) {
    if (controller.signal.aborted && controller.signal.reason instanceof TimeoutError) {
      throw controller.signal.reason;
    }
    throw err;
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onOuterAbort);
  }
}

async function readLimited(res: Response, maxBytes: number): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel();
      throw new UpstreamError('upstream_too_large', `response larger than ${maxBytes} bytes`);
    }
    chunks.push(value);
  }
  const all = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    all.set(c, off);
    off += c.byteLength;
  }
  return new TextDecoder().decode(all);
}

/** Fetches JSON; non-2xx and unparsable bodies become UpstreamError naming the service. */
export async function fetchJson<T = unknown>(
  service: string,
  url: string,
  options: FetchOptions,
): Promise<T> {
  let res: FetchResult;
  try {
    res = await fetchText(url, { ...options, headers: { accept: 'application/json', ...options.headers } });
  } catch (err) {
    throw new UpstreamError('upstream_unavailable', `${service}: ${(err as Error).message}`, err);
  }
  if (res.status < 200 || res.status > 299) {
    throw new UpstreamError('upstream_status', `${service} answered HTTP ${res.status}`, undefined, {
      status: res.status,
    });
  }
  try {
    return JSON.parse(res.text) as T;
  } catch (err) {
    throw new UpstreamError('upstream_malformed', `${service} answered with a body that is not JSON`, err);
  }
}
