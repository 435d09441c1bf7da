// The regulator API's reports: the summary, the FM-1 draft (the AFM's XML, UTF-16 with BOM) and the
// IVMS101 travel-rule data.
import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { encodeUtf16Bom } from '../../aml/fm1';
import { getReport } from '../../aml/reports';
import { newApi } from '../../http/api';
import type { BaseEnv, RegulatorEnv } from '../../http/env';
import { problemResponses } from '../../http/openapi';
import { NotFoundError } from '../../lib/errors';
import { isId } from '../../lib/ids';
import { reportSummaryToJson } from '../json';
import { IdParam, ReportSummarySchema, security, tags } from './schemas';

async function loadReportOr404<E extends BaseEnv>(c: Context<E>, id: string) {
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

export function reportRoutes() {
  const app = newApi<RegulatorEnv>();
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
      return fm1Response(report.id, report.fm1Xml);
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
  return app;
}
