// The console's audit page: the hash chain re-computed on every visit.
import { verifyAuditChain } from '../../audit/log';
import { newApi } from '../../http/api';
import { AuditPage } from '../../ui/regulator/audit';
import { type ConsoleEnv, sessionOf } from './pages';

export function auditPages() {
  const app = newApi<ConsoleEnv>();

  app.get('/regulator/audit', async (c) => {
    const v = await verifyAuditChain(c.get('services').sql);
    return c.html(<AuditPage session={sessionOf(c)} v={v} />);
  });
  return app;
}
