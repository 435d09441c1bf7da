// The regulator API's audit: the hash chain re-computed and checked against every signed checkpoint,
// and the checkpoints themselves for regulators to keep.
import { createRoute, z } from '@hono/zod-openapi';
import { listCheckpoints, verifyCheckpoints } from '../../audit/checkpoints';
import { verifyAuditChain } from '../../audit/log';
import { newApi } from '../../http/api';
import type { RegulatorEnv } from '../../http/env';
import { problemResponses } from '../../http/openapi';
import { security, tags } from './schemas';

const CheckpointSchema = z
  .object({
    seq: z.number().int().openapi({ description: 'The audit entry id of the head when signed (0: empty)' }),
    headHash: z.string(),
    signedAt: z.string(),
    publicKey: z.string().openapi({ description: 'Hex Ed25519 public key that signed it' }),
    signature: z.string().openapi({ description: 'Hex Ed25519 signature over the message below' }),
  })
  .openapi('AuditCheckpoint');
const CheckpointFailureSchema = z.object({
  seq: z.number().int(),
  headHash: z.string(),
  signedAt: z.string(),
  publicKey: z
    .string()
    .openapi({ description: 'The key the checkpoint names (empty for a copy that names none)' }),
  problem: z.enum(['bad signature', 'untrusted key', 'retired key', 'entry missing', 'hash mismatch']),
});
const CheckpointKeySchema = z.object({
  publicKey: z.string(),
  current: z
    .boolean()
    .openapi({ description: 'The key that signs now; the others are earlier keys still trusted' }),
  checkpoints: z.number().int().openapi({ description: 'Checkpoints this key validly signed' }),
});

export function auditRoutes() {
  const app = newApi<RegulatorEnv>();
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/regulator/audit/verify',
      operationId: 'verifyAuditChain',
      tags,
      summary: 'Re-computes the audit hash chain and checks it against every signed checkpoint',
      description:
        '`ok` is false when a link is broken or a checkpoint fails: not signed by a trusted key (the ' +
        'configured one or an earlier one in AUDIT_TRUSTED_PUBLIC_KEYS), signed by an earlier key after ' +
        'the next one took over, ' +
        'its entry missing (the chain was truncated) or with another hash (the chain was rewritten).',
      security,
      responses: {
        200: {
          description: 'The verification',
          content: {
            'application/json': {
              schema: z.object({
                ok: z.boolean(),
                entries: z.number(),
                headHash: z.string(),
                brokenAt: z.object({ id: z.string(), reason: z.string() }).optional(),
                checkpoints: z.object({
                  ok: z.boolean(),
                  checked: z.number(),
                  latestSeq: z.number().optional(),
                  failures: z.array(CheckpointFailureSchema),
                  keys: z.array(CheckpointKeySchema).optional(),
                  keyMissing: z.boolean().optional(),
                  publicKey: z.string().nullable(),
                }),
              }),
            },
          },
        },
        ...problemResponses(401, 403),
      },
    }),
    async (c) => {
      const services = c.get('services');
      const v = await verifyAuditChain(services.sql);
      const cp = await verifyCheckpoints(services.sql, services.auditKey);
      return c.json(
        {
          ...v,
          ok: v.ok && cp.ok,
          ...(v.brokenAt ? { brokenAt: v.brokenAt } : {}),
          checkpoints: {
            ok: cp.ok,
            checked: cp.checked,
            ...(cp.latestSeq !== undefined ? { latestSeq: cp.latestSeq } : {}),
            failures: [...cp.failures],
            ...(cp.keyMissing ? { keyMissing: true } : {}),
            ...(cp.keys ? { keys: [...cp.keys] } : {}),
            publicKey: services.auditKey?.publicKeyHex ?? null,
          },
        },
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/regulator/audit/checkpoints',
      operationId: 'listAuditCheckpoints',
      tags,
      summary: "Signed checkpoints of the audit chain's head, oldest first, for regulators to keep",
      description:
        'Each checkpoint is an Ed25519 signature by `publicKey` over the UTF-8 text ' +
        '"alatau-pay audit checkpoint v1\\n{seq}\\n{headHash}\\n{signedAt}". Keep your own copies: ' +
        '`audit verify --checkpoints FILE` checks the chain against them even if rows here were deleted.',
      security,
      request: {
        query: z.object({
          after: z.coerce
            .number()
            .int()
            .min(0)
            .optional()
            .openapi({ description: 'Only checkpoints at or after this seq' }),
          limit: z.coerce.number().int().min(1).max(10_000).optional(),
        }),
      },
      responses: {
        200: {
          description: 'The checkpoints and the key that signs them',
          content: {
            'application/json': {
              schema: z.object({
                algorithm: z.literal('Ed25519'),
                publicKey: z.string().nullable(),
                checkpoints: z.array(CheckpointSchema),
              }),
            },
          },
        },
        ...problemResponses(401, 403, 422),
      },
    }),
    async (c) => {
      const services = c.get('services');
      const q = c.req.valid('query');
      const checkpoints = await listCheckpoints(services.sql, {
        ...(q.after !== undefined ? { afterSeq: q.after } : {}),
        limit: q.limit ?? 1000,
      });
      return c.json(
        { algorithm: 'Ed25519' as const, publicKey: services.auditKey?.publicKeyHex ?? null, checkpoints },
        200,
      );
    },
  );
  return app;
}
