// Writes packages/client/src/generated.ts from the app's OpenAPI document: one type per component
// schema, request/response/query types per operation, and one typed method per operation. Method names
// come from the operationId when the document has one, else from the method and path
// (POST /v1/invoices → createInvoice, POST /v1/invoices/{id}/cancel → cancelInvoice). The output is
// formatted with biome; test/client/generated.test.ts fails when the committed file differs.
//
//   npx tsx scripts/gen-client.ts           rewrite the file
//   npx tsx scripts/gen-client.ts --check   exit 1 if it is out of date
import { spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createApp } from '../src/app';
import { loadConfig } from '../src/config';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const GENERATED = 'packages/client/src/generated.ts';

// biome-ignore lint/suspicious/noExplicitAny: JSON Schema is walked structurally
type Schema = any;
interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  description?: string;
  schema?: Schema;
}
interface Operation {
  operationId?: string;
  summary?: string;
  description?: string;
  parameters?: Parameter[];
  requestBody?: { required?: boolean; content?: Record<string, { schema?: Schema }> };
  responses?: Record<string, { content?: Record<string, { schema?: Schema }> }>;
}
export interface OpenApiDocument {
  paths: Record<string, Partial<Record<(typeof METHODS)[number], Operation>> & { parameters?: Parameter[] }>;
  components?: { schemas?: Record<string, Schema> };
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

/** The document the app serves at /openapi.json; no database is touched to build it. */
export async function currentDocument(): Promise<OpenApiDocument> {
  const config = loadConfig({
    NETWORK_MODE: 'sandbox',
    PUBLIC_URL: 'http://gateway.test',
    LOG_LEVEL: 'silent',
  });
  const app = createApp(config, {} as never);
  const res = await app.request('/openapi.json');
  if (res.status !== 200) throw new Error(`/openapi.json answered ${res.status}`);
  return (await res.json()) as OpenApiDocument;
}

const pascal = (s: string) =>
  s
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w[0]!.toUpperCase() + w.slice(1))
    .join('');
const camel = (s: string) => {
  const p = pascal(s);
  return p[0]!.toLowerCase() + p.slice(1);
};
const singular = (w: string) =>
  w.endsWith('ies') ? `${w.slice(0, -3)}y` : w.endsWith('s') && !w.endsWith('ss') ? w.slice(0, -1) : w;
const isIdentifier = (s: string) => /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(s);
const key = (s: string) => (isIdentifier(s) ? s : JSON.stringify(s));
const doc = (text: string | undefined, indent = '') =>
  text ? `${indent}/** ${text.replace(/\*\//g, '*\\/').replace(/\s*\n\s*/g, ' ')} */\n` : '';

/** A method name from method + path, for documents without operationIds. */
export function nameFromPath(method: string, route: string): string {
  const segments = route.split('/').filter((s) => s && s !== 'v1');
  const last = segments.at(-1) ?? '';
  const endsInParam = last.startsWith('{');
  const statics = segments.filter((s) => !s.startsWith('{'));
  const resource = (words: string[]) => words.map((w) => pascal(singular(w))).join('');
  if (method === 'get') {
    if (endsInParam) return `get${resource(statics)}`;
    return `${/[^s]s$/.test(last) ? 'list' : 'get'}${resource(statics.slice(0, -1))}${pascal(last)}`;
  }
  if (method === 'delete') return `delete${resource(statics)}`;
  if (method === 'put' || method === 'patch') return `update${resource(statics)}`;
  // POST: onto a collection (a plural noun) creates; any other last word is an action on the resource.
  if (endsInParam || /[^s]s$/.test(last)) return `create${resource(statics)}`;
  const [verb = last, ...rest] = last.split(/[^A-Za-z0-9]+/);
  return `${verb}${resource(statics.slice(0, -1))}${pascal(rest.join('-'))}`;
}

class Emitter {
  readonly types: string[] = [];
  constructor(private readonly components: Record<string, Schema>) {}

  refName(ref: string): string {
    const name = ref.replace(/^#\/components\/schemas\//, '');
    if (!(name in this.components)) throw new Error(`unresolved $ref ${ref}`);
    return pascal(name);
  }

  type(schema: Schema, indent = ''): string {
    if (schema === true || schema === undefined || schema === null) return 'unknown';
    if (schema === false) return 'never';
    if (schema.$ref) return this.refName(schema.$ref);
    if ('const' in schema) return JSON.stringify(schema.const);
    if (Array.isArray(schema.enum)) return schema.enum.map((v: unknown) => JSON.stringify(v)).join(' | ');
    if (schema.anyOf || schema.oneOf) {
      return (schema.anyOf ?? schema.oneOf).map((s: Schema) => this.wrap(this.type(s, indent))).join(' | ');
    }
    if (schema.allOf) return schema.allOf.map((s: Schema) => this.wrap(this.type(s, indent))).join(' & ');
    if (Array.isArray(schema.type)) {
      return schema.type.map((t: string) => this.wrap(this.type({ ...schema, type: t }, indent))).join(' | ');
    }
    switch (schema.type) {
      case 'string':
        return 'string';
      case 'integer':
      case 'number':
        return 'number';
      case 'boolean':
        return 'boolean';
      case 'null':
        return 'null';
      case 'array':
        return `${this.wrap(this.type(schema.items, indent))}[]`;
      case 'object':
      case undefined:
        if (schema.type === undefined && !schema.properties) return 'unknown';
        return this.object(schema, indent);
      default:
        return 'unknown';
    }
  }

  private wrap(t: string): string {
    return /[|&]/.test(t) && !t.startsWith('{') ? `(${t})` : t;
  }

  object(schema: Schema, indent: string): string {
    const props: Record<string, Schema> = schema.properties ?? {};
    const required = new Set<string>(schema.required ?? []);
    const inner = `${indent}  `;
    const lines = Object.entries(props).map(
      ([name, s]) =>
        `${doc(s?.description, inner)}${inner}${key(name)}${required.has(name) ? '' : '?'}: ${this.type(s, inner)};`,
    );
    const extra = schema.additionalProperties;
    if (extra && extra !== false) {
      lines.push(`${inner}[key: string]: ${extra === true ? 'unknown' : this.type(extra, inner)};`);
    }
    if (lines.length === 0) return 'Record<string, unknown>';
    return `{\n${lines.join('\n')}\n${indent}}`;
  }

  /** A named type: a reference stays a reference, anything inline becomes `export type Name`. */
  named(name: string, schema: Schema): string {
    if (schema?.$ref) return this.refName(schema.$ref);
    this.types.push(`export type ${name} = ${this.type(schema)};`);
    return name;
  }
}

const jsonSchema = (content: Record<string, { schema?: Schema }> | undefined) =>
  content?.['application/json']?.schema;

export function generateClientSource(document: OpenApiDocument): string {
  const components = document.components?.schemas ?? {};
  const e = new Emitter(components);
  const out: string[] = [
    '// GENERATED by scripts/gen-client.ts from the gateway OpenAPI document: do not edit by hand.',
    '// Regenerate with `npx tsx scripts/gen-client.ts`; a test fails when this file is out of date.',
    "import type { HttpClient, RequestOptions } from './http.js';",
    '',
  ];
  for (const [name, schema] of Object.entries(components)) {
    out.push(`${doc(schema?.description)}export type ${pascal(name)} = ${e.type(schema)};`, '');
  }

  const methods: string[] = [];
  const seen = new Set<string>();
  for (const [route, item] of Object.entries(document.paths)) {
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      const name = op.operationId ? camel(op.operationId) : nameFromPath(method, route);
      if (seen.has(name)) throw new Error(`two operations would be named ${name} (${method} ${route})`);
      seen.add(name);
      const Name = pascal(name);
      // Parameters declared on the path item apply to each of its operations unless an operation
      // redeclares them (OpenAPI 3.1 §4.8.9).
      const own = op.parameters ?? [];
      const shared = (item.parameters ?? []).filter(
        (p) => !own.some((o) => o.name === p.name && o.in === p.in),
      );
      const params = [...shared, ...own];
      const pathParams = params.filter((p) => p.in === 'path');
      const queryParams = params.filter((p) => p.in === 'query');

      const args: string[] = pathParams.map((p) => `${camel(p.name)}: string`);
      const fields: string[] = [`method: '${method.toUpperCase()}'`, `path: '${route}'`];
      if (pathParams.length > 0) {
        fields.push(
          `pathParams: { ${pathParams.map((p) => `${key(p.name)}: ${camel(p.name)}`).join(', ')} }`,
        );
      }
      const bodySchema = jsonSchema(op.requestBody?.content);
      if (bodySchema) {
        const bodyType = e.named(`${Name}Body`, bodySchema);
        args.push(`body: ${bodyType}`);
        fields.push('body');
      }
      if (queryParams.length > 0) {
        const queryType = `${Name}Query`;
        const required = queryParams.some((p) => p.required);
        const properties = Object.fromEntries(
          queryParams.map((p) => [
            p.name,
            { ...p.schema, description: p.description ?? p.schema?.description },
          ]),
        );
        const requiredNames = queryParams.filter((p) => p.required).map((p) => p.name);
        e.types.push(
          `export interface ${queryType} ${e.object({ properties, required: requiredNames }, '')}`,
        );
        args.push(`query${required ? '' : '?'}: ${queryType}`);
        fields.push('query: { ...query }');
      }
      args.push('options?: RequestOptions');

      const success = Object.entries(op.responses ?? {})
        .filter(([status]) => /^2\d\d$/.test(status))
        .sort(([a], [b]) => a.localeCompare(b))[0];
      let result = 'void';
      if (success && success[0] !== '204') {
        const content = success[1].content;
        const schema = jsonSchema(content);
        if (schema) result = e.named(`${Name}Response`, schema);
        else if (content && Object.keys(content).length > 0) result = 'string';
      }
      methods.push(
        `${doc(op.summary ?? op.description, '  ')}  ${name}(${args.join(', ')}): Promise<${result}> {\n` +
          `    return this.http.request({ ${fields.join(', ')} }, options);\n  }`,
      );
    }
  }

  out.push(...e.types.flatMap((t) => [t, '']));
  out.push(
    '/** One typed method per operation of the gateway API; the transport is {@link HttpClient}. */',
    'export class GeneratedClient {',
    '  constructor(protected readonly http: HttpClient) {}',
    '',
    methods.join('\n\n'),
    '}',
    '',
  );
  return format(out.join('\n'));
}

/** biome's formatting, so the committed file passes `npm run lint` as it is generated. */
function format(source: string): string {
  const bin = path.join(ROOT, 'node_modules/.bin/biome');
  const r = spawnSync(bin, ['format', `--stdin-file-path=${GENERATED}`], {
    cwd: ROOT,
    input: source,
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (r.status !== 0) throw new Error(`biome format failed: ${r.stderr || r.stdout}`);
  return r.stdout;
}

async function main(): Promise<void> {
  const source = generateClientSource(await currentDocument());
  const file = path.join(ROOT, GENERATED);
  if (process.argv.includes('--check')) {
    const committed = await readFile(file, 'utf8').catch(() => '');
    if (committed !== source) {
      console.error(`${GENERATED} is out of date: run npx tsx scripts/gen-client.ts`);
      process.exit(1);
    }
    return;
  }
  await writeFile(file, source);
  console.log(`wrote ${GENERATED}`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main();
}
