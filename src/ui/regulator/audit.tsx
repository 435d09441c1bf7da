import type { AuditCheckpoint, CheckpointFailure, CheckpointVerification } from '../../audit/checkpoints';
import type { AuditVerification } from '../../audit/log';
import { Page, type SessionView } from './layout';

export interface AuditPageProps {
  readonly session: SessionView;
  /** The hash chain, every link from genesis. */
  readonly v: AuditVerification;
  /** Every signed checkpoint against the chain (`audit verify`). */
  readonly checkpoints: CheckpointVerification;
  /** The newest checkpoints, newest first. */
  readonly recent: readonly AuditCheckpoint[];
  /** The key that signs now; undefined when none is configured. */
  readonly publicKey: string | undefined;
}

const failureKey = (c: Pick<CheckpointFailure, 'seq' | 'signedAt' | 'publicKey'>) =>
  `${c.seq}|${c.signedAt}|${c.publicKey}`;

const PROBLEMS: Record<CheckpointFailure['problem'], string> = {
  'bad signature': 'signature does not match (forged or altered)',
  'untrusted key': 'signed by a key that is not trusted',
  'retired key': 'signed by an earlier key after the next one took over',
  'entry missing': 'its entry is gone: the log was truncated',
  'hash mismatch': 'its entry has another hash: the log was rewritten',
};

/** The chain check, then every signed checkpoint's: a chain that links can still be truncated or rewritten. */
export function AuditPage(props: AuditPageProps) {
  const { v, checkpoints: cp } = props;
  const ok = v.ok && cp.ok;
  const failed = new Map(cp.failures.map((f) => [failureKey(f), f.problem]));
  return (
    <Page title="Audit log" session={props.session}>
      <h1>Audit log</h1>
      <div class="card" id="audit-result" data-ok={String(ok)}>
        {!v.ok ? (
          <p class="error">
            The chain is broken at entry {v.brokenAt?.id}: {v.brokenAt?.reason}. {v.entries} entries before it
            verify.
          </p>
        ) : ok ? (
          <p class="notice">
            The chain of {v.entries} entries verifies. Head hash <code>{v.headHash}</code>.
          </p>
        ) : (
          <p class="error">
            The chain's {v.entries} entries link, but signed checkpoints contradict it: the log was truncated
            or rewritten, or a checkpoint is not genuine. Head hash <code>{v.headHash}</code>.
          </p>
        )}
      </div>

      <h2>Signed checkpoints</h2>
      <div class="card" id="audit-checkpoints" data-ok={String(cp.ok)}>
        {cp.keyMissing ? (
          cp.ok ? (
            <p class="muted">
              No checkpoints yet, and no key is configured to check them (AUDIT_PUBLIC_KEY).
            </p>
          ) : (
            <p class="error">
              Checkpoints exist but are NOT checked: no key is configured (AUDIT_SIGNING_KEY or
              AUDIT_PUBLIC_KEY).
            </p>
          )
        ) : cp.checked === 0 ? (
          <p class="muted">No checkpoints yet: the background jobs sign the head periodically.</p>
        ) : cp.failures.length === 0 ? (
          <p class="notice">
            {cp.checked} signed {cp.checked === 1 ? 'checkpoint agrees' : 'checkpoints agree'} with the chain
            {cp.latestSeq !== undefined ? `; the newest covers entry ${cp.latestSeq}` : ''}.
          </p>
        ) : (
          <>
            <p class="error">
              {cp.failures.length} of {cp.checked} checkpoints FAIL.
            </p>
            <table id="checkpoint-failures">
              <thead>
                <tr>
                  <th class="num">Entry</th>
                  <th>Signed at</th>
                  <th>Problem</th>
                  <th>Key</th>
                </tr>
              </thead>
              <tbody>
                {cp.failures.map((f) => (
                  <tr data-problem={f.problem}>
                    <td class="num">{f.seq}</td>
                    <td>{f.signedAt}</td>
                    <td>{PROBLEMS[f.problem]}</td>
                    <td>
                      <code>{f.publicKey ? `${f.publicKey.slice(0, 16)}…` : '—'}</code>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </>
        )}
        {cp.keys && cp.keys.length > 0 ? (
          <>
            <h2>Trusted keys (Ed25519)</h2>
            <table id="checkpoint-keys">
              <thead>
                <tr>
                  <th>Public key</th>
                  <th>Role</th>
                  <th class="num">Checkpoints signed</th>
                </tr>
              </thead>
              <tbody>
                {cp.keys.map((k) => (
                  <tr>
                    <td>
                      <code>{k.publicKey}</code>
                    </td>
                    <td>{k.current ? 'signs now' : 'earlier key (AUDIT_TRUSTED_PUBLIC_KEYS)'}</td>
                    <td class="num">{k.checkpoints}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </>
        ) : null}
      </div>

      {props.recent.length > 0 ? (
        <>
          <h2>Newest signed heads</h2>
          <table id="checkpoint-list">
            <thead>
              <tr>
                <th class="num">Entry</th>
                <th>Head hash</th>
                <th>Signed at</th>
                <th>Result</th>
              </tr>
            </thead>
            <tbody>
              {props.recent.map((c) => {
                const problem = failed.get(failureKey(c));
                const result = problem ?? (cp.keyMissing ? 'not checked' : 'verifies');
                return (
                  <tr data-result={result}>
                    <td class="num">{c.seq}</td>
                    <td>
                      <code>{c.headHash}</code>
                    </td>
                    <td>{c.signedAt}</td>
                    <td>{problem ? <span class="overdue-flag">{PROBLEMS[problem]}</span> : result}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          <p class="muted">
            Keep your own copies (GET /v1/regulator/audit/checkpoints):{' '}
            <code>audit verify --checkpoints FILE</code> checks the log against them even if rows here are
            deleted.
          </p>
        </>
      ) : null}
    </Page>
  );
}
