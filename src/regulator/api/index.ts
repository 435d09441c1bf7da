// Regulator API (SPEC section 6): cases, four-eyes decisions, reports (FM-1 XML, IVMS101 JSON) and
// the audit chain's verification. Bearer rk_ keys only; the console at /regulator mirrors it.
import { newApi } from '../../http/api';
import type { RegulatorEnv } from '../../http/env';
import { regulatorAuth } from '../auth';
import { auditRoutes } from './audit';
import { caseRoutes } from './cases';
import { reportRoutes } from './reports';

export function regulatorApi() {
  const app = newApi<RegulatorEnv>();
  const auth = regulatorAuth();
  app.use('/v1/regulator', auth);
  app.use('/v1/regulator/*', auth);
  app.openAPIRegistry.registerComponent('securitySchemes', 'regulator', {
    type: 'http',
    scheme: 'bearer',
    description: 'rk_… (a regulator key; merchant keys get 403)',
  });
  app.route('/', caseRoutes());
  app.route('/', reportRoutes());
  app.route('/', auditRoutes());
  return app;
}
