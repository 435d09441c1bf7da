// The console's report downloads: the FM-1 draft and the IVMS101 data, as the API serves them.
import { getReport } from '../../aml/reports';
import { newApi } from '../../http/api';
import { problemResponse } from '../../http/problem';
import { isId } from '../../lib/ids';
import { fm1Response } from '../api/reports';
import type { ConsoleEnv } from './pages';

export function reportPages() {
  const app = newApi<ConsoleEnv>();

  app.get('/regulator/reports/:id/fm1.xml', async (c) => {
    const id = c.req.param('id');
    const report = isId('rep', id) ? await getReport(c.get('services').sql, id) : undefined;
    if (!report) return problemResponse(c, 404, 'report_not_found', 'no such report');
    return fm1Response(report.id, report.fm1Xml);
  });

  app.get('/regulator/reports/:id/ivms101.json', async (c) => {
    const id = c.req.param('id');
    const report = isId('rep', id) ? await getReport(c.get('services').sql, id) : undefined;
    if (!report) return problemResponse(c, 404, 'report_not_found', 'no such report');
    c.header('content-disposition', `attachment; filename="${report.id}-ivms101.json"`);
    return c.json(report.ivms101 as Record<string, unknown>);
  });

  return app;
}
