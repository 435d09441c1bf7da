// Regulator API (SPEC section 6): cases, four-eyes decisions, reports (FM-1 XML, IVMS101 JSON) and
// the audit chain's verification. Bearer rk_ keys only; the console at /regulator mirrors it.
import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { utf8ToBytes } from '@noble/hashes/utils.js';
import { base64urlnopad } from '@scure/base';
import type { Context } from 'hono';
import { CASE_STATUSES, DECISIONS, decide, getCase, listCases } from '../aml/cases';
import { encodeUtf16Bom } from '../aml/fm1';
import { getReport } from '../aml/reports';
import { RISKS } from '../aml/types';
import { reporterFromConfig } from '../aml/wiring';
import { listCheckpoints, verifyCheckpoints } from '../audit/checkpoints';
import { verifyAuditChain } from '../audit/log';
import { NETWORK_IDS } from '../chains/networks';
import type { AppEnv } from '../http/auth';
import { problemResponses } from '../http/openapi';
import { NotFoundError, ValidationError } from '../lib/errors';
import { isId } from '../lib/ids';
import { parseKzt } from '../lib/money';
import { currentRegulator, regulatorAuth } from './auth';
import { caseDetailToJson, caseSummaryToJson, reportSummaryToJson } from './json';

const security = [{ regulator: [] }];
const tags = ['Regulator'];

const ReasonSchema = z.object({ code: z.string(), message: z.string() });
const CaseSummarySchema = z
  .object({
    id: z.string().openapi({ example: 'case_01jd8x3q4m5n6p7r8s9t0v1w2x' }),
    status: z.enum(CASE_STATUSES),
    risk: z.enum(RISKS),
    hold: z.boolean(),
    reasons: z.array(ReasonSchema),
    network: z.string(),
    asset: z.string().nullable(),
    addresses: z.array(z.string()),
    amountKzt: z.string().openapi({ example: '6000000.00' }),
    invoiceId: z.string(),
    paymentId: z.string().nullable(),
    merchant: z.object({ id: z.string(), name: z.string() }),
    dueAt: z.string(),
    overdue: z.boolean(),
    createdAt: z.string(),
    updatedAt: z.string(),
    closedAt: z.string().nullable(),
  })
  .openapi('AmlCaseSummary');
const ReportSummarySchema = z
  .object({
    id: z.string(),
    caseId: z.string(),
    kind: z.enum(['threshold', 'suspicious', 'list_match']),
    reasonCode: z.string(),
    status: z.enum(['draft', 'filed']),
    createdBy: z.string(),
    dueAt: z.string(),
    createdAt: z.string(),
    links: z.object({ fm1: z.string(), ivms101: z.string() }),
  })
  .openapi('AmlReport');
const CaseDetailSchema = CaseSummarySchema.extend({
  merchant: z.object({ id: z.string(), name: z.string(), bin: z.string().nullable() }),
  invoice: z.object({
    id: z.string(),
    status: z.string(),
    review: z.string(),
    amount: z.string(),
    amountPaid: z.string(),
  }),
  payment: z
    .object({
      id: z.string(),
      option: z.string(),
      txid: z.string(),
      index: z.number(),
      from: z.array(z.string()),
      to: z.string().nullable(),
      amount: z.string().nullable(),
      amountAtomic: z.string(),
      amountKzt: z.string(),
      confirmations: z.number(),
      status: z.string(),
      seenAt: z.string(),
      links: z.object({
        tx: z.string().nullable(),
        from: z.array(z.object({ address: z.string(), url: z.string().nullable() })),
      }),
    })
    .nullable(),
  screening: z.array(z.object({ screener: z.string(), risk: z.enum(RISKS), reasons: z.array(ReasonSchema) })),
  decisions: z.array(
    z.object({
      regulator: z.object({ id: z.string(), name: z.string() }),
      decision: z.enum(DECISIONS),
      reason: z.string(),
      at: z.string(),
    }),
  ),
  reports: z.array(ReportSummarySchema),
  clearedBy: z.array(z.string()),
  awaitingSecondClearance: z.boolean(),
  closed: z.boolean(),
}).openapi('AmlCase');

const IdParam = (example: string) =>
  z.object({
    id: z
      .string()
      .max(64)
      .openapi({ param: { name: 'id', in: 'path' }, example }),
  });

const CaseQuery = z.object({
  status: z.enum(CASE_STATUSES).optional(),
  risk: z.enum(RISKS).optional(),
  network: z.enum(NETWORK_IDS).optional(),
  merchant: z.string().max(64).optional(),
  overdue: z.enum(['true', 'false']).optional(),
  minAmount: z.string().max(32).optional().openapi({ description: 'KZT, e.g. 5000000.00' }),
  maxAmount: z.string().max(32).optional(),
  dueBefore: z.iso.datetime({ offset: true }).optional(),
  limit: z.coerce.number().int().min(1).max(200).optional(),
  cursor: z.string().max(200).optional(),
});

export type CaseQueryInput = z.infer<typeof CaseQuery>;

function kzt(path: string, v: string | undefined): bigint | undefined {
  if (v === undefined || v === '') return undefined;
  try {
    return parseKzt(v);
  } catch {
    throw new ValidationError('invalid amount', [{ path, message: 'a tenge amount such as 5000000.00' }]);
  }
}

export const encodeCursor = (c: { dueAt: Date; id: string }): string =>
  base64urlnopad.encode(utf8ToBytes(JSON.stringify([c.dueAt.toISOString(), c.id])));

function decodeCursor(s: string | undefined): { dueAt: Date; id: string } | undefined {
  if (!s) return undefined;
  try {
    const [dueAt, id] = JSON.parse(new TextDecoder().decode(base64urlnopad.decode(s))) as [string, string];
    const d = new Date(dueAt);
    if (Number.isNaN(d.getTime()) || !isId('case', id)) throw new Error('bad');
    return { dueAt: d, id };
  } catch {
    throw new ValidationError('invalid cursor', [
      { path: 'cursor', message: 'use the nextCursor of a previous page' },
    ]);
  }
}

/** Query → filter, shared with the console's queue. */
export function caseFilterFrom(q: CaseQueryInput) {
  return {
    status: q.status,
    risk: q.risk,
    network: q.network,
    merchantId: q.merchant || undefined,
    overdue: q.overdue === undefined ? undefined : q.overdue === 'true',
    minAmountTiyn: kzt('minAmount', q.minAmount),
    maxAmountTiyn: kzt('maxAmount', q.maxAmount),
    dueBefore: q.dueBefore ? new Date(q.dueBefore) : undefined,
    limit: q.limit,
    cursor: decodeCursor(q.cursor),
  };
}

async function loadReportOr404(c: Context<AppEnv>, id: string) {
  const report = isId('rep', id) ? await getReport(c.get('services').sql, id) : undefined;
  if (!report) throw new NotFoundError('report', 'report_not_found');
  return report;
}

export function fm1Response(id: string, xml: string): Response {
  return new Response(encodeUtf16Bom(xml) as Uint8Array<ArrayBuffer>, {
    status: 200,
    headers: {
      'content-type': 'application/xml; charset=utf-16',
      'content-disposition': `attachment; filename="${id}-fm1.xml"`,
      'cache-control': 'no-store',
    },
  });
}

export function registerRegulatorApi(app: OpenAPIHono<AppEnv>) {
  const auth = regulatorAuth();
  app.use('/v1/regulator', auth);
  app.use('/v1/regulator/*', auth);
  app.openAPIRegistry.registerComponent('securitySchemes', 'regulator', {
    type: 'http',
    scheme: 'bearer',
    description: 'rk_… (a regulator key; merchant keys get 403)',
  });

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/regulator/cases',
      operationId: 'listCases',
      tags,
      summary: 'The case queue, earliest deadline first',
      security,
      request: { query: CaseQuery },
      responses: {
        200: {
          description: 'A page of cases',
          content: {
            'application/json': {
              schema: z.object({ data: z.array(CaseSummarySchema), nextCursor: z.string().nullable() }),
            },
          },
        },
        ...problemResponses(401, 403, 422),
      },
    }),
    async (c) => {
      const page = await listCases(c.get('services').sql, caseFilterFrom(c.req.valid('query')));
      return c.json(
        {
          data: page.data.map(caseSummaryToJson) as z.infer<typeof CaseSummarySchema>[],
          nextCursor: page.next ? encodeCursor(page.next) : null,
        },
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/regulator/cases/{id}',
      operationId: 'getCase',
      tags,
      summary: 'A case with its payment, screening reasons, timeline and reports',
      security,
      request: { params: IdParam('case_01jd8x3q4m5n6p7r8s9t0v1w2x') },
      responses: {
        200: { description: 'The case', content: { 'application/json': { schema: CaseDetailSchema } } },
        ...problemResponses(401, 403, 404),
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const found = isId('case', id) ? await getCase(c.get('services').sql, id) : undefined;
      if (!found) throw new NotFoundError('case', 'case_not_found');
      return c.json(caseDetailToJson(found) as z.infer<typeof CaseDetailSchema>, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/regulator/cases/{id}/decisions',
      operationId: 'decideCase',
      tags,
      summary: 'Decide a case (a reason is required; a severe case needs two regulators to clear)',
      security,
      request: {
        params: IdParam('case_01jd8x3q4m5n6p7r8s9t0v1w2x'),
        body: {
          required: true,
          content: {
            'application/json': {
              schema: z
                .object({
                  decision: z.enum(DECISIONS),
                  reason: z.string().min(1, 'a decision needs a reason').max(2000),
                })
                .strict(),
            },
          },
        },
      },
      responses: {
        200: {
          description: 'The case after the decision',
          content: {
            'application/json': {
              schema: CaseDetailSchema.extend({ reportId: z.string().nullable() }),
            },
          },
        },
        ...problemResponses(401, 403, 404, 409, 415, 422),
      },
    }),
    async (c) => {
      const services = c.get('services');
      const { id } = c.req.valid('param');
      const body = c.req.valid('json');
      if (!isId('case', id)) throw new NotFoundError('case', 'case_not_found');
      const r = currentRegulator(c);
      const out = await decide(
        services.sql,
        { state: services.state, reporter: reporterFromConfig(services.config) },
        {
          caseId: id,
          decision: body.decision,
          reason: body.reason,
          regulator: { id: r.regulatorId, name: r.name, email: r.email },
        },
      );
      const json = caseDetailToJson(out.case) as z.infer<typeof CaseDetailSchema>;
      return c.json({ ...json, reportId: out.reportId ?? null }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/regulator/reports/{id}',
      operationId: 'getReport',
      tags,
      summary: 'A report (FM-1 draft and IVMS101 data)',
      security,
      request: { params: IdParam('rep_01jd8x3q4m5n6p7r8s9t0v1w2x') },
      responses: {
        200: { description: 'The report', content: { 'application/json': { schema: ReportSummarySchema } } },
        ...problemResponses(401, 403, 404),
      },
    }),
    async (c) => {
      const report = await loadReportOr404(c, c.req.valid('param').id);
      return c.json(reportSummaryToJson(report), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/regulator/reports/{id}/fm1.xml',
      operationId: 'getReportFm1',
      tags,
      summary: "The FM-1 draft in the AFM's XML format (UTF-16 with BOM, unsigned)",
      security,
      request: { params: IdParam('rep_01jd8x3q4m5n6p7r8s9t0v1w2x') },
      responses: {
        200: { description: 'FM-1 XML', content: { 'application/xml': { schema: z.string() } } },
        ...problemResponses(401, 403, 404),
      },
    }),
    async (c) => {
      const report = await loadReportOr404(c, c.req.valid('param').id);
      return fm1Response(report.id, report.fm1Xml) as never;
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/regulator/reports/{id}/ivms101.json',
      operationId: 'getReportIvms101',
      tags,
      summary: 'Travel-rule data (IVMS101) of the reported transfer',
      security,
      request: { params: IdParam('rep_01jd8x3q4m5n6p7r8s9t0v1w2x') },
      responses: {
        200: {
          description: 'IVMS101 JSON',
          content: { 'application/json': { schema: z.record(z.string(), z.unknown()) } },
        },
        ...problemResponses(401, 403, 404),
      },
    }),
    async (c) => {
      const report = await loadReportOr404(c, c.req.valid('param').id);
      c.header('content-disposition', `attachment; filename="${report.id}-ivms101.json"`);
      return c.json(report.ivms101 as Record<string, unknown>, 200);
    },
  );

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
}
