// Liveness and readiness probes for the orchestrator: public, cheap, and outside /v1.
import { createRoute, z } from '@hono/zod-openapi';
import { schemaReady } from '../db/ready';
import { newApi } from './api';

const probe = (path: string, operationId: string, summary: string) => ({
  method: 'get' as const,
  path,
  operationId,
  tags: ['Operations'],
  summary,
  security: [],
});

const Ready = z.object({ ready: z.boolean() });

export function probeRoutes() {
  const app = newApi();
  app.openapi(
    createRoute({
      ...probe('/healthz', 'getHealth', 'Liveness: the process answers'),
      responses: {
        200: {
          description: 'Alive',
          content: { 'application/json': { schema: z.object({ ok: z.literal(true) }) } },
        },
      },
    }),
    (c) => c.json({ ok: true as const }, 200),
  );
  app.openapi(
    createRoute({
      ...probe('/readyz', 'getReadiness', 'Readiness: the database answers and its schema is current'),
      responses: {
        200: { description: 'Ready', content: { 'application/json': { schema: Ready } } },
        503: { description: 'Not ready', content: { 'application/json': { schema: Ready } } },
      },
    }),
    async (c) => {
      const ready = await schemaReady(c.get('services').sql).catch(() => false);
      return ready ? c.json({ ready }, 200) : c.json({ ready }, 503);
    },
  );
  return app;
}
