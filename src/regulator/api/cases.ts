// The regulator API's cases: the queue (earliest deadline first), one case, and decisions (a reason
// always; a severe case needs two regulators to clear).
import { createRoute, z } from '@hono/zod-openapi';
import { utf8ToBytes } from '@noble/hashes/utils.js';
import { base64urlnopad } from '@scure/base';
import { CASE_STATUSES, DECISIONS, decide, getCase, listCases } from '../../aml/cases';
import { RISKS } from '../../aml/types';
import { reporterFromConfig } from '../../aml/wiring';
import { NETWORK_IDS } from '../../chains/networks';
import { newApi } from '../../http/api';
import type { RegulatorEnv } from '../../http/env';
import { problemResponses } from '../../http/openapi';
import { NotFoundError, ValidationError } from '../../lib/errors';
import { isId } from '../../lib/ids';
import { parseKzt } from '../../lib/money';
import { currentRegulator } from '../auth';
import { caseDetailToJson, caseSummaryToJson } from '../json';
import { CaseDetailSchema, CaseSummarySchema, IdParam, security, tags } from './schemas';

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

export function caseRoutes() {
  const app = newApi<RegulatorEnv>();
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
  return app;
}
