// Sub-apps from newApi: a mounted sub-app's validation failures and thrown errors leave through the
// root's one funnel (http/problem.ts), and its unknown paths reach the root's notFound. Sub-apps set
// no onError of their own; if one did, Hono would answer its errors there instead.
import { createRoute, z } from '@hono/zod-openapi';
import { describe, expect, it } from 'vitest';
import { newApi } from '../../src/http/api';
import type { BaseEnv } from '../../src/http/env';
import { onError, problemResponse } from '../../src/http/problem';
import { ConflictError } from '../../src/lib/errors';
import { silentLogger } from '../../src/lib/log';

function mounted() {
  const sub = newApi<BaseEnv>();
  sub.openapi(
    createRoute({
      method: 'get',
      path: '/sub/items',
      request: { query: z.object({ limit: z.coerce.number().int().min(1) }) },
      responses: { 200: { description: 'ok', content: { 'application/json': { schema: z.object({}) } } } },
    }),
    (c) => c.json({}, 200),
  );
  sub.get('/sub/conflict', () => {
    throw new ConflictError('item_exists', 'already there');
  });
  const root = newApi<BaseEnv>();
  root.use('*', async (c, next) => {
    c.set('requestId', 'req_sub');
    await next();
  });
  root.route('/', sub);
  root.notFound((c) => problemResponse(c, 404, 'not_found', `no route for ${c.req.path}`));
  root.onError(onError(silentLogger));
  return { root, sub };
}

describe('a sub-app mounted with route()', () => {
  it("validates with the shared hook: 422 naming the field, through the root's funnel", async () => {
    const res = await mounted().root.request('/sub/items?limit=0');
    expect(res.status).toBe(422);
    const body = await res.json();
    expect(body).toMatchObject({ code: 'validation_failed', requestId: 'req_sub' });
    expect(body.errors.map((e: { path: string }) => e.path)).toEqual(['limit']);
  });

  it('sends what it throws to the funnel', async () => {
    const res = await mounted().root.request('/sub/conflict');
    expect(res.status).toBe(409);
    expect(await res.json()).toMatchObject({ code: 'item_exists', requestId: 'req_sub' });
  });

  it("leaves an unknown path under it to the root's notFound", async () => {
    const res = await mounted().root.request('/sub/nothing');
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
  });

  it('brings its routes into the root document', () => {
    const { root } = mounted();
    const doc = root.getOpenAPI31Document({ openapi: '3.1.0', info: { title: 't', version: '1' } });
    expect(Object.keys(doc.paths ?? {})).toEqual(['/sub/items']);
  });
});
