// Webhook deliveries on Node connect to the addresses the SSRF rules approved, not to whatever the
// name resolves to a moment later. A plain fetch resolves the host itself after the check, so a
// receiver's DNS could answer a public address to the check and 127.0.0.1 or the cloud metadata
// address to the connection (DNS rebinding). Here the name is resolved once, the answers are checked
// (src/webhooks/ssrf.ts) and the socket is opened to one of them, through node:http's `lookup`.
// Literal IP hosts are never looked up; assertDeliverableUrl has already checked them.
//
// Not on workerd: it has no node:http sockets to pin and no resolver (global fetch is used there).
import type { LookupAddress } from 'node:dns';
import type { Agent, IncomingMessage, RequestOptions } from 'node:http';
import { type DeliverableUrlOptions, resolvePublicAddresses, systemResolve } from './ssrf';

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

const NULL_BODY_STATUSES = new Set([101, 204, 205, 304]);
const familyOf = (address: string): 4 | 6 => (address.includes(':') ? 6 : 4);

// One per policy, like fetch's own global connection pool: keep-alive connections are reused across
// deliveries (a TLS handshake per webhook would be slow), and only by requests of the same policy.
const byResolver = new WeakMap<object, Map<boolean, typeof fetch>>();

/** The pinned fetch for this policy (allowPrivate and resolver), made on first use. */
export function pinnedFetch(opts: DeliverableUrlOptions): typeof fetch {
  const resolver = opts.resolve ?? systemResolve;
  let forResolver = byResolver.get(resolver);
  if (!forResolver) {
    forResolver = new Map();
    byResolver.set(resolver, forResolver);
  }
  let made = forResolver.get(opts.allowPrivate);
  if (!made) {
    made = createPinnedFetch({ allowPrivate: opts.allowPrivate, resolve: resolver });
    forResolver.set(opts.allowPrivate, made);
  }
  return made;
}

export interface PinnedFetchOptions extends DeliverableUrlOptions {
  /** PEM certificates trusted besides the system's (a private receiver's own CA). */
  readonly extraCa?: readonly string[];
}

/** A fetch (enough of it for deliveries: method, headers, body, signal) over pinned connections. */
export function createPinnedFetch(opts: PinnedFetchOptions): typeof fetch {
  const resolve = opts.resolve ?? systemResolve;
  const lookup = (hostname: string, options: { all?: boolean }, callback: LookupCallback) => {
    const answers = opts.allowPrivate
      ? Promise.resolve(resolve(hostname))
      : resolvePublicAddresses(hostname, resolve);
    answers.then(
      (addresses) => {
        if (!addresses || addresses.length === 0) {
          const err: NodeJS.ErrnoException = new Error(`${hostname} resolves to no address`);
          err.code = 'ENOTFOUND';
          callback(err, []);
        } else if (options.all) {
          callback(
            null,
            addresses.map((address) => ({ address, family: familyOf(address) })),
          );
        } else {
          callback(null, addresses[0]!, familyOf(addresses[0]!));
        }
      },
      (err: NodeJS.ErrnoException) => callback(err, []),
    );
  };
  // Loaded on first use, so that this module also loads where node:http does not exist.
  let client:
    | Promise<{
        http: typeof import('node:http');
        https: typeof import('node:https');
        Readable: typeof import('node:stream').Readable;
        agents: { http: Agent; https: Agent };
      }>
    | undefined;
  const clientFor = async (protocol: 'http:' | 'https:') => {
    if (!client) {
      client = Promise.all([
        import('node:http'),
        import('node:https'),
        import('node:stream'),
        import('node:tls'),
      ]).then(([http, https, stream, tls]) => {
        const keepAlive = { keepAlive: true, maxFreeSockets: 8, timeout: 60_000 };
        // `ca` replaces the system's list, so an extra CA is added to it, not given alone.
        const ca = opts.extraCa?.length ? { ca: [...tls.rootCertificates, ...opts.extraCa] } : {};
        return {
          http,
          https,
          Readable: stream.Readable,
          agents: { http: new http.Agent(keepAlive), https: new https.Agent({ ...keepAlive, ...ca }) },
        };
      });
    }
    const c = await client;
    return protocol === 'https:'
      ? { request: c.https.request, agent: c.agents.https, Readable: c.Readable }
      : { request: c.http.request, agent: c.agents.http, Readable: c.Readable };
  };

  return (async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new TypeError(`pinned fetch speaks http and https, not ${url.protocol}`);
    }
    const { request, agent, Readable } = await clientFor(url.protocol);
    const method = (init.method ?? 'GET').toUpperCase();
    const headers: Record<string, string> = {};
    new Headers(init.headers).forEach((value, name) => {
      headers[name] = value;
    });
    const body = init.body as string | Uint8Array | null | undefined;
    const options: RequestOptions = {
      method,
      headers,
      agent,
      lookup: lookup as RequestOptions['lookup'],
      ...(init.signal ? { signal: init.signal } : {}),
    };
    return new Promise<Response>((resolveResponse, reject) => {
      const req = request(url, options, (res: IncomingMessage) => {
        const responseHeaders = new Headers();
        for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) {
          responseHeaders.append(res.rawHeaders[i]!, res.rawHeaders[i + 1]!);
        }
        const status = res.statusCode ?? 0;
        const hasBody = !NULL_BODY_STATUSES.has(status) && method !== 'HEAD';
        if (!hasBody) res.resume();
        try {
          resolveResponse(
            new Response(hasBody ? (Readable.toWeb(res) as ReadableStream<Uint8Array>) : null, {
              status,
              statusText: res.statusMessage ?? '',
              headers: responseHeaders,
            }),
          );
        } catch (err) {
          // A status outside 200–599 is no HTTP answer a receiver can give.
          res.destroy();
          reject(err);
        }
      });
      req.on('error', reject);
      req.end(body ?? undefined);
    });
  }) as typeof fetch;
}
