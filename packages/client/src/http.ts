// The transport under the generated methods: fetch with a timeout, Bearer auth, Idempotency-Key, and
// application/problem+json answers turned into a typed error. No dependencies: global fetch only.

export const DEFAULT_TIMEOUT_MS = 30_000;

export interface ClientOptions {
  /** The gateway's origin, e.g. `https://pay.example.kz` (the API lives under /v1). */
  readonly baseUrl: string;
  /** A secret API key (`sk_test_…` / `sk_live_…`), sent as `Authorization: Bearer`. */
  readonly apiKey?: string;
  /** Per-request timeout (default 30 s); each call may override it. */
  readonly timeoutMs?: number;
  /** Another fetch (a proxy agent, a test double); defaults to the global one. */
  readonly fetch?: typeof fetch;
  /** Sent with every request. */
  readonly headers?: Record<string, string>;
}

export interface RequestOptions {
  /** Makes a POST safe to retry: the gateway answers a repeat with the first answer. */
  readonly idempotencyKey?: string;
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  readonly headers?: Record<string, string>;
}

export interface FieldError {
  readonly path: string;
  readonly message: string;
}

/** A problem+json answer (RFC 9457): `code` is stable, `requestId` is what support asks for. */
export class AlatauApiError extends Error {
  override name = 'AlatauApiError' as const;
  readonly status: number;
  readonly code: string;
  readonly title: string;
  readonly detail: string;
  readonly type: string;
  readonly requestId: string | undefined;
  /** Field-level errors of a 400/422, each naming the field (`path`). */
  readonly errors: readonly FieldError[];
  /** The parsed body as received, for anything not mapped above. */
  readonly body: unknown;
  /** Seconds to wait before retrying (429/503 with Retry-After). */
  readonly retryAfter: number | undefined;

  constructor(status: number, body: unknown, headers: Headers) {
    const p = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
    const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
    const title = str(p.title) ?? `HTTP ${status}`;
    const detail = str(p.detail) ?? '';
    super(detail ? `${title}: ${detail}` : title);
    this.status = status;
    this.code = str(p.code) ?? `http_${status}`;
    this.title = title;
    this.detail = detail;
    this.type = str(p.type) ?? 'about:blank';
    this.requestId = str(p.requestId) ?? headers.get('x-request-id') ?? undefined;
    this.errors = Array.isArray(p.errors)
      ? p.errors
          .filter((e): e is Record<string, unknown> => !!e && typeof e === 'object')
          .map((e) => ({ path: String(e.path ?? ''), message: String(e.message ?? '') }))
      : [];
    this.body = body;
    const retry = headers.get('retry-after');
    this.retryAfter = retry && /^\d+$/.test(retry) ? Number(retry) : undefined;
  }
}

/** No answer in time, or the connection failed: nothing is known about whether the request ran. */
export class AlatauConnectionError extends Error {
  override name = 'AlatauConnectionError' as const;
  constructor(
    message: string,
    readonly timedOut: boolean,
    cause?: unknown,
  ) {
    super(message, cause === undefined ? undefined : { cause });
  }
}

export interface RawRequest {
  readonly method: string;
  /** A path template such as `/v1/invoices/{id}`. */
  readonly path: string;
  readonly pathParams?: Record<string, string>;
  readonly query?: Record<string, string | number | boolean | null | undefined>;
  readonly body?: unknown;
}

export class HttpClient {
  readonly #baseUrl: string;
  readonly #apiKey: string | undefined;
  readonly #timeoutMs: number;
  readonly #fetch: typeof fetch;
  readonly #headers: Record<string, string>;

  constructor(options: ClientOptions) {
    const base = new URL(options.baseUrl);
    if (base.protocol !== 'https:' && base.protocol !== 'http:') {
      throw new TypeError(`baseUrl must be http(s), got ${base.protocol}`);
    }
    this.#baseUrl = base.origin + base.pathname.replace(/\/+$/, '');
    this.#apiKey = options.apiKey;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.#headers = { ...options.headers };
  }

  /** Sends one request; resolves with the parsed 2xx body (a string if not JSON, undefined on 204). */
  async request<T>(req: RawRequest, options: RequestOptions = {}): Promise<T> {
    const url = new URL(this.#baseUrl + expandPath(req.path, req.pathParams ?? {}));
    for (const [name, value] of Object.entries(req.query ?? {})) {
      if (value !== undefined && value !== null) url.searchParams.set(name, String(value));
    }
    const headers: Record<string, string> = {
      accept: 'application/json, application/problem+json',
      ...this.#headers,
      ...options.headers,
    };
    if (this.#apiKey) headers.authorization = `Bearer ${this.#apiKey}`;
    if (options.idempotencyKey !== undefined) headers['idempotency-key'] = options.idempotencyKey;
    if (req.body !== undefined) headers['content-type'] = 'application/json';

    const timeout = AbortSignal.timeout(options.timeoutMs ?? this.#timeoutMs);
    const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
    let res: Response;
    let text: string;
    try {
      res = await this.#fetch(url, {
        method: req.method,
        headers,
        signal,
        redirect: 'error',
        ...(req.body === undefined ? {} : { body: JSON.stringify(req.body) }),
      });
      // The timeout covers the body too: a server that stalls mid-body does not hang the caller.
      text = await res.text();
    } catch (err) {
      if (options.signal?.aborted) throw err;
      const timedOut = timeout.aborted;
      throw new AlatauConnectionError(
        timedOut
          ? `${req.method} ${req.path}: no answer within ${options.timeoutMs ?? this.#timeoutMs} ms`
          : `${req.method} ${req.path}: ${err instanceof Error ? err.message : String(err)}`,
        timedOut,
        err,
      );
    }

    const type = res.headers.get('content-type') ?? '';
    const isJson = /^application\/(problem\+)?json/i.test(type);
    let body: unknown = text;
    if (isJson && text.length > 0) {
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
    }
    if (!res.ok) throw new AlatauApiError(res.status, body, res.headers);
    if (res.status === 204 || text.length === 0) return undefined as T;
    return body as T;
  }
}

function expandPath(template: string, params: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = params[name];
    // '.' and '..' would be resolved away by URL and address another route.
    if (typeof value !== 'string' || value.length === 0 || value === '.' || value === '..') {
      throw new TypeError(`path parameter "${name}" must be a non-empty string other than . or ..`);
    }
    // Encoded, so an id can never climb out of its path segment ("../", "?", "#").
    return encodeURIComponent(value);
  });
}
