// /openapi.json and /docs: the OpenAPI document, and the same rendered on the server as plain HTML
// (no third-party scripts or CDNs).
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Config } from '../config';
import { newApi } from './api';
import type { BaseEnv } from './env';
import { completeDocument } from './openapi';

type ApiDocument = ReturnType<OpenAPIHono['getOpenAPI31Document']>;

const esc = (s: string) => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

/** What the page reads of the document (the generated one, or a part of one in a test). */
interface DocsInput {
  readonly info: { readonly title: string; readonly description?: string };
  readonly paths?: { readonly [path: string]: object };
  readonly components?: { readonly schemas?: Record<string, unknown> };
}

interface Operation {
  readonly summary?: string;
  readonly responses?: Record<string, { readonly description?: string }>;
}

const METHODS = new Set(['get', 'put', 'post', 'delete', 'patch', 'options', 'head', 'trace']);

/** The generated document (OpenAPI 3.1) as a page: each operation with its answers, then the schemas. */
export function renderDocs(doc: DocsInput): string {
  const ops: string[] = [];
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const [method, value] of Object.entries(item)) {
      if (!METHODS.has(method)) continue; // a path item's own parameters or summary
      const op: Operation = value;
      const responses = Object.entries(op.responses ?? {})
        .map(([code, r]) => `<li><code>${esc(code)}</code> ${esc(r.description ?? '')}</li>`)
        .join('');
      ops.push(`<section><h3><code>${esc(method.toUpperCase())} ${esc(path)}</code></h3><p>${esc(op.summary ?? '')}</p>
        <ul>${responses}</ul></section>`);
    }
  }
  const schemas = Object.entries(doc.components?.schemas ?? {})
    .map(
      ([name, s]) =>
        `<details><summary>${esc(name)}</summary><pre>${esc(JSON.stringify(s, null, 2))}</pre></details>`,
    )
    .join('');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(doc.info.title)}</title><style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#111}
code,pre{background:#f4f4f4;padding:.1rem .3rem;border-radius:4px}pre{padding:1rem;overflow:auto}section{border-top:1px solid #ddd}</style></head>
<body><h1>${esc(doc.info.title)}</h1><p>${esc(doc.info.description ?? '')}</p>
<p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1). Errors are <code>application/problem+json</code> with a stable <code>code</code>.</p>
<h2>Operations</h2>${ops.join('\n')}<h2>Schemas</h2>${schemas}</body></html>`;
}

/**
 * The document of everything mounted on `root`, built once on first use (every sub-app is mounted by
 * then: createApp returns before a request arrives).
 */
export function apiDocument(
  root: OpenAPIHono<BaseEnv>,
  config: Pick<Config, 'PUBLIC_URL'>,
): () => ApiDocument {
  root.openAPIRegistry.registerComponent('securitySchemes', 'bearer', {
    type: 'http',
    scheme: 'bearer',
    description: 'sk_test_… / sk_live_…',
  });
  let built: ApiDocument | undefined;
  return () => {
    built ??= completeDocument(
      root.getOpenAPI31Document({
        openapi: '3.1.0',
        info: {
          title: 'alatau-pay API',
          version: '1',
          description: 'Crypto payments priced in tenge for the merchants of Alatau City.',
          license: { name: 'MIT', url: 'https://spdx.org/licenses/MIT.html' },
        },
        servers: [{ url: config.PUBLIC_URL }],
      }),
    );
    return built;
  };
}

export function docRoutes(document: () => ApiDocument) {
  const app = newApi();
  app.get('/openapi.json', (c) => c.json(document()));
  app.get('/docs', (c) => {
    c.header(
      'Content-Security-Policy',
      "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
    );
    return c.html(renderDocs(document()));
  });
  return app;
}
