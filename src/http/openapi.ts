// The OpenAPI document is the contract. Routes declare what is theirs (bodies, their own problems,
// Location); what every route shares is added here once, from facts about the route: public routes get
// `security: []`, authenticated ones 401, 403 and 429, any input 422, /v1 400 (unknown parameter),
// 500 and 503, bodies 413/415, every answer X-Request-Id. The same document drives the unknown-parameter check and the 405.
import type { MiddlewareHandler } from 'hono';
import { ProblemSchema } from '../invoices/schema';
import { AppError } from '../lib/errors';

const PROBLEM_DESCRIPTIONS: Record<number, string> = {
  400: 'Bad request: unknown query parameter, invalid JSON or Idempotency-Key',
  401: 'Missing or wrong credentials',
  403: 'Forbidden',
  404: 'Not found',
  409: 'Conflict',
  413: 'Body too large',
  415: 'Body not application/json',
  422: 'Invalid fields (named in `errors`)',
  429: 'Too many failed authentications; retry after Retry-After seconds',
  500: 'Unexpected failure, logged; quote the requestId',
  503: 'Temporarily unavailable (a dependency such as the database); retry',
};

export const RETRY_AFTER = {
  description: 'Seconds to wait before retrying',
  schema: { type: 'integer' as const, minimum: 0 },
};

/** Problem details (RFC 9457) answers for these statuses; 429 and 503 carry Retry-After. */
export function problemResponses<S extends number>(...codes: S[]) {
  return Object.fromEntries(
    codes.map((s) => [
      s,
      {
        description: PROBLEM_DESCRIPTIONS[s] ?? 'Problem details (RFC 9457)',
        ...(s === 429 ? { headers: { 'Retry-After': { ...RETRY_AFTER, required: true } } } : {}),
        ...(s === 503 ? { headers: { 'Retry-After': RETRY_AFTER } } : {}),
        content: { 'application/problem+json': { schema: ProblemSchema } },
      },
    ]),
  ) as Record<
    S,
    { description: string; content: { 'application/problem+json': { schema: typeof ProblemSchema } } }
  >;
}

export const LOCATION_HEADER = {
  Location: {
    description: 'The created resource',
    required: true,
    schema: { type: 'string' as const, format: 'uri-reference' },
  },
};
export const IDEMPOTENT_REPLAYED_HEADER = {
  'Idempotent-Replayed': {
    description: '`true` when this is the stored answer to an earlier request with the same Idempotency-Key',
    schema: { type: 'string' as const, enum: ['true'] },
  },
};

// biome-ignore lint/suspicious/noExplicitAny: the generated document is plain JSON
type Json = any;
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'options', 'head', 'trace'] as const;

/** Adds what every operation shares (see the header); idempotent. */
export function completeDocument<D>(doc: D): D {
  const d = doc as Json;
  d.components ??= {};
  d.components.headers = {
    ...d.components.headers,
    RequestId: {
      description: 'The request id (yours if you sent a valid X-Request-Id); quote it to support',
      required: true,
      schema: { type: 'string', pattern: '^[\\w.-]{1,64}$' },
    },
  };
  d.components.schemas ??= {};
  const shared = problemResponses(400, 401, 403, 413, 415, 422, 429, 500, 503);
  const problemRef = { $ref: '#/components/schemas/Problem' };
  const add = (op: Json, status: number) => {
    if (op.responses[status]) return;
    const r = (shared as Json)[status];
    op.responses[status] = {
      description: r.description,
      ...(r.headers ? { headers: structuredClone(r.headers) } : {}),
      content: { 'application/problem+json': { schema: problemRef } },
    };
  };
  for (const [path, item] of Object.entries<Json>(d.paths ?? {})) {
    for (const m of METHODS) {
      const op = item[m];
      if (!op) continue;
      op.responses ??= {};
      if (!op.security || op.security.length === 0) op.security = [];
      else {
        add(op, 401);
        add(op, 403); // a key of the other kind (merchant vs regulator)
        add(op, 429);
      }
      const params = [...(item.parameters ?? []), ...(op.parameters ?? [])];
      if (path.startsWith('/v1/')) {
        add(op, 400);
        add(op, 500);
        add(op, 503);
      }
      if (params.length > 0 || op.requestBody) add(op, 422);
      if (op.requestBody) {
        add(op, 413);
        add(op, 415);
      }
      for (const res of Object.values<Json>(op.responses)) {
        res.headers = { 'X-Request-Id': { $ref: '#/components/headers/RequestId' }, ...res.headers };
      }
    }
  }
  return doc;
}

/** What the middleware needs of each documented operation, read from the registry (cheap), not the document. */
export interface RouteEntry {
  readonly method: string;
  readonly path: string;
  /** Declared query parameter names; undefined: not knowable here, so not checked. */
  readonly query: readonly string[] | undefined;
}

/** The routes registered with @hono/zod-openapi (app.openAPIRegistry.definitions). */
export function routeEntries(definitions: readonly unknown[]): RouteEntry[] {
  const out: RouteEntry[] = [];
  for (const d of definitions as Json[]) {
    if (d.type !== 'route') continue;
    const q = d.route.request?.query;
    out.push({
      method: String(d.route.method).toUpperCase(),
      path: d.route.path,
      query: q === undefined ? [] : q.shape ? Object.keys(q.shape) : undefined,
    });
  }
  return out;
}

interface PathMatcher {
  readonly template: string;
  readonly re: RegExp;
  readonly params: number;
}

/** Path templates as matchers, static segments before parameters. */
export function pathMatchers(paths: Iterable<string>): PathMatcher[] {
  return [...new Set(paths)]
    .map((template) => {
      const parts = template.split(/(\{[^}]+\})/);
      const re = new RegExp(
        `^${parts.map((p) => (p.startsWith('{') ? '[^/]+' : p.replace(/[.*+?^$()|[\]\\]/g, '\\$&'))).join('')}$`,
      );
      return { template, re, params: parts.filter((p) => p.startsWith('{')).length };
    })
    .sort((a, b) => a.params - b.params);
}

export function matchPath(matchers: readonly PathMatcher[], path: string): string | undefined {
  return matchers.find((m) => m.re.test(path))?.template;
}

/** The documented methods of a path template, upper case (HEAD wherever GET is). */
export function allowedMethods(routes: readonly RouteEntry[], template: string): string[] {
  const order = METHODS.map((m) => m.toUpperCase());
  const out = [...new Set(routes.filter((r) => r.path === template).map((r) => r.method))].sort(
    (a, b) => order.indexOf(a) - order.indexOf(b),
  );
  if (out.includes('GET') && !out.includes('HEAD')) out.splice(out.indexOf('GET') + 1, 0, 'HEAD');
  return out;
}

/**
 * Stripe's rule: a query parameter the operation does not declare is refused (400, naming it) rather
 * than silently ignored, so a misspelt filter cannot quietly return everything.
 */
export function rejectUnknownQuery(routes: () => readonly RouteEntry[]): MiddlewareHandler {
  let known: { matchers: PathMatcher[]; names: Map<string, Set<string> | undefined> } | undefined;
  return async (c, next) => {
    if (!c.req.url.includes('?')) return next();
    if (!known) {
      const list = routes();
      known = {
        matchers: pathMatchers(list.map((r) => r.path)),
        names: new Map(list.map((r) => [`${r.method} ${r.path}`, r.query && new Set(r.query)])),
      };
    }
    const template = matchPath(known.matchers, c.req.path);
    const method = c.req.method === 'HEAD' ? 'GET' : c.req.method;
    const allowed = template && known.names.get(`${method} ${template}`);
    if (allowed) {
      const unknown = [...new URL(c.req.url).searchParams.keys()].filter((k) => !allowed.has(k));
      if (unknown.length > 0) {
        const list = [...new Set(unknown)];
        throw new AppError(
          'unknown_parameter',
          `unknown query parameter${list.length > 1 ? 's' : ''}: ${list.map((k) => JSON.stringify(k)).join(', ')}`,
          {
            status: 400,
            errors: list.map((k) => ({ path: `query.${k}`, message: 'unknown parameter' })),
          },
        );
      }
    }
    return next();
  };
}
