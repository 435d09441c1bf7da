import type { AuditVerification } from '../../audit/log';
import { Page, type SessionView } from './layout';

export function AuditPage(props: { session: SessionView; v: AuditVerification }) {
  const v = props.v;
  return (
    <Page title="Audit log" session={props.session}>
      <h1>Audit log</h1>
      <div class="card" id="audit-result">
        {v.ok ? (
          <p class="notice">
            The chain of {v.entries} entries verifies. Head hash <code>{v.headHash}</code>.
          </p>
        ) : (
          <p class="error">
            The chain is broken at entry {v.brokenAt?.id}: {v.brokenAt?.reason}. {v.entries} entries before it
            verify.
          </p>
        )}
      </div>
    </Page>
  );
}
