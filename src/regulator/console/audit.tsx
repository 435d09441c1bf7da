// The console's audit page: the hash chain re-computed and every signed checkpoint verified on each
// visit, the same two checks as `audit verify` and GET /v1/regulator/audit/verify.
import { newestCheckpoints, verifyCheckpoints } from '../../audit/checkpoints';
import { verifyAuditChain } from '../../audit/log';
import { newApi } from '../../http/api';
import { AuditPage } from '../../ui/regulator/audit';
import { type ConsoleEnv, sessionOf } from './pages';

/** Signed heads listed on the audit page (all of them are verified). */
const RECENT_CHECKPOINTS = 20;

export function auditPages() {
  const app = newApi<ConsoleEnv>();

  app.get('/regulator/audit', async (c) => {
    const { sql, auditKey } = c.get('services');
    const v = await verifyAuditChain(sql);
    const checkpoints = await verifyCheckpoints(sql, auditKey);
    const recent = await newestCheckpoints(sql, RECENT_CHECKPOINTS);
    return c.html(
      <AuditPage
        session={sessionOf(c)}
        v={v}
        checkpoints={checkpoints}
        recent={recent}
        publicKey={auditKey?.publicKeyHex}
      />,
    );
  });
  return app;
}
