// The OpenAPI document as the contract, checked on every answer a test sees: a wrapped app.request
// matches each response to its operation and throws when the status is not declared, a required
// header is missing or malformed, the media type is not one declared, or a JSON body does not match
// its schema (Ajv, JSON Schema 2020-12 as OpenAPI 3.1 uses). An undocumented method on a documented
// path must be 405 with Allow; an undocumented /v1 path must be a 404 problem.
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { matchPath, pathMatchers } from '../../src/http/openapi';

// biome-ignore lint/suspicious/noExplicitAny: the document is plain JSON
type Json = any;

interface RequestingApp {
  request: (
    input: string | Request | URL,
    init?: RequestInit,
    ...rest: never[]
  ) => Response | Promise<Response>;
}

export interface ContractChecker {
  check(method: string, path: string, res: Response): Promise<void>;
  /** Responses checked so far, by `METHOD template status`. */
  readonly seen: Map<string, number>;
}

export function contractChecker(doc: Json): ContractChecker {
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
  (addFormats as unknown as (a: unknown) => void)(ajv);
  ajv.addSchema({ $id: 'openapi', components: doc.components }, 'openapi');
  const local = (schema: unknown) =>
    JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', '"openapi#/components/'));
  const compiled = new Map<string, ReturnType<typeof ajv.compile>>();
  const validator = (key: string, schema: unknown) => {
    let v = compiled.get(key);
    if (!v) {
      v = ajv.compile(local(schema));
      compiled.set(key, v);
    }
    return v;
  };
  const resolve = (o: Json): Json => {
    if (!o?.$ref) return o;
    const [, kind, name] = /^#\/components\/(\w+)\/(.+)$/.exec(o.$ref)!;
    return doc.components[kind!][name!];
  };
  const matchers = pathMatchers(Object.keys(doc.paths));
  const seen = new Map<string, number>();

  async function check(methodIn: string, path: string, res: Response): Promise<void> {
    const method = methodIn.toUpperCase() === 'HEAD' ? 'GET' : methodIn.toUpperCase();
    const ctype = (res.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    const where = `${methodIn} ${path} → ${res.status}`;
    const template = matchPath(matchers, path);
    if (!template) {
      if (path.startsWith('/v1/') && !(res.status === 404 && ctype === 'application/problem+json'))
        throw new Error(`contract: ${where}: an undocumented /v1 path must answer a 404 problem`);
      return;
    }
    const op = doc.paths[template][method.toLowerCase()];
    if (!op) {
      if (res.status === 401 && ctype === 'application/problem+json') return; // authentication runs first
      if (res.status !== 405 || !res.headers.get('allow'))
        throw new Error(`contract: ${where}: an undocumented method must answer 405 with Allow`);
      return;
    }
    const key = `${method} ${template} ${res.status}`;
    seen.set(key, (seen.get(key) ?? 0) + 1);
    const declared = resolve(op.responses[String(res.status)] ?? op.responses.default);
    if (!declared) {
      const body = await res.clone().text();
      throw new Error(`contract: ${where}: status not declared by ${op.operationId}: ${body.slice(0, 300)}`);
    }
    for (const [name, h0] of Object.entries<Json>(declared.headers ?? {})) {
      const h = resolve(h0);
      const value = res.headers.get(name);
      if (value === null) {
        if (h.required) throw new Error(`contract: ${where}: required header ${name} missing`);
        continue;
      }
      const schema = h.schema ?? {};
      const typed = schema.type === 'integer' && /^-?\d+$/.test(value) ? Number(value) : value;
      const v = validator(`header ${JSON.stringify(schema)}`, schema);
      if (!v(typed))
        throw new Error(`contract: ${where}: header ${name}=${value}: ${ajv.errorsText(v.errors)}`);
    }
    const content = declared.content as Record<string, Json> | undefined;
    if (!content || Object.keys(content).length === 0) {
      if (res.body !== null && (await res.clone().text()) !== '')
        throw new Error(`contract: ${where}: declared without a body but has one`);
      return;
    }
    const media = content[ctype];
    if (!media)
      throw new Error(
        `contract: ${where}: content-type ${ctype || '(none)'} not declared (${Object.keys(content).join(', ')})`,
      );
    if (!/json$/.test(ctype) || !media.schema) return; // streams and XML: the media type is the contract
    const text = await res.clone().text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new Error(`contract: ${where}: body is not JSON: ${text.slice(0, 200)}`);
    }
    const v = validator(`${op.operationId} ${res.status} ${ctype}`, media.schema);
    if (!v(body))
      throw new Error(
        `contract: ${where}: body does not match ${op.operationId}: ${ajv.errorsText(v.errors)}`,
      );
  }
  return { check, seen };
}

const checkers = new WeakMap<object, Promise<ContractChecker>>();

/**
 * Replaces `app.request` with one that checks every answer against the app's own /openapi.json.
 * Returns the checker (its `seen` map says which responses the suite exercised).
 */
export function checkContract<A extends RequestingApp>(app: A): Promise<ContractChecker> {
  const existing = checkers.get(app);
  if (existing) return existing;
  const original = app.request.bind(app);
  const checker = (async () => contractChecker(await (await original('/openapi.json')).json()))();
  checkers.set(app, checker);
  app.request = (async (input: string | Request | URL, init?: RequestInit, ...rest: never[]) => {
    const res = await original(input, init, ...rest);
    const url = input instanceof Request ? new URL(input.url) : new URL(String(input), 'http://localhost');
    const method = init?.method ?? (input instanceof Request ? input.method : 'GET');
    await (await checker).check(method, url.pathname, res);
    return res;
  }) as A['request'];
  return checker;
}
