import type { CaseDetail } from '../../aml/cases';
import { explorerLink } from '../../aml/cases';
import { ASSETS, parseOption } from '../../chains/networks';
import { formatUnits } from '../../lib/money';
import { CsrfField, kztAmount, Page, RiskBadge, type SessionView, When } from './layout';

function Address({ network, address }: { network: CaseDetail['network']; address: string }) {
  const url = explorerLink(network, 'address', address);
  return url ? (
    <a href={url} rel="noreferrer noopener" target="_blank">
      {address}
    </a>
  ) : (
    <code>{address}</code>
  );
}

export function CasePage(props: {
  session: SessionView;
  c: CaseDetail;
  error?: string | undefined;
  notice?: string | undefined;
}) {
  const c = props.c;
  const p = c.payment;
  const asset = p ? parseOption(p.option)?.asset : undefined;
  const decimals = p?.decimals ?? (asset ? ASSETS[asset].decimals : undefined);
  const txUrl = p ? explorerLink(c.network, 'tx', p.txid) : undefined;
  const awaitingSecond = c.risk === 'severe' && !c.closed && c.clearedBy.length === 1;
  return (
    <Page title={`Case ${c.id}`} session={props.session}>
      <h1>
        Case {c.id} <RiskBadge risk={c.risk} /> <span class="badge">{c.status}</span>
      </h1>
      {props.error ? (
        <p class="error" role="alert" id="decision-error">
          {props.error}
        </p>
      ) : null}
      {props.notice ? (
        <p class="notice" id="decision-notice">
          {props.notice}
        </p>
      ) : null}
      <div class="card">
        <dl>
          <dt>Deadline</dt>
          <dd>
            <When at={c.dueAt} /> {c.overdue ? <span class="overdue-flag">OVERDUE</span> : null}
          </dd>
          <dt>Hold</dt>
          <dd>{c.hold ? `yes (invoice review: ${c.invoice.review})` : 'no'}</dd>
          <dt>Merchant</dt>
          <dd>
            {c.merchant.name} <span class="muted">{c.merchant.id}</span>
            {c.merchant.bin ? <span class="muted"> · BIN {c.merchant.bin}</span> : null}
          </dd>
          <dt>Invoice</dt>
          <dd>
            {c.invoice.id} · {c.invoice.status} · {kztAmount(c.invoice.amountTiyn)} KZT
          </dd>
          <dt>Tenge value</dt>
          <dd>{kztAmount(c.amountTiyn)} KZT</dd>
          <dt>Network</dt>
          <dd>{c.network}</dd>
          {p ? (
            <>
              <dt>Payment</dt>
              <dd>
                {decimals === undefined ? p.amountAtomic.toString() : formatUnits(p.amountAtomic, decimals)}{' '}
                {asset ?? ''} · {p.confirmations} confirmation(s) · {p.status}
              </dd>
              <dt>Transaction</dt>
              <dd>
                {txUrl ? (
                  <a href={txUrl} rel="noreferrer noopener" target="_blank">
                    {p.txid}
                  </a>
                ) : (
                  <code>{p.txid}</code>
                )}
                :{p.outputIndex}
              </dd>
              <dt>To</dt>
              <dd>{p.toAddress ? <Address network={c.network} address={p.toAddress} /> : '—'}</dd>
            </>
          ) : null}
          <dt>Senders</dt>
          <dd>
            {c.addresses.map((a) => (
              <div>
                <Address network={c.network} address={a} />
              </div>
            ))}
          </dd>
        </dl>
      </div>

      <h2>Screening reasons</h2>
      <div class="card">
        <ul id="reasons">
          {c.reasons.map((r) => (
            <li>
              <strong>{r.code}</strong>: {r.message}
            </li>
          ))}
        </ul>
        <table>
          <thead>
            <tr>
              <th>Screener</th>
              <th>Risk</th>
              <th>Reasons</th>
            </tr>
          </thead>
          <tbody>
            {c.screening.map((s) => (
              <tr>
                <td>{s.screener}</td>
                <td>
                  <RiskBadge risk={s.risk} />
                </td>
                <td>{s.reasons.map((r) => r.message).join('; ')}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>

      <h2>Timeline</h2>
      <div class="card">
        <ol class="timeline" id="timeline">
          <li>
            <When at={c.createdAt} /> — opened by screening ({c.risk})
          </li>
          {c.decisions.map((d) => (
            <li>
              <When at={d.at} /> — <strong>{d.decision}</strong> by {d.regulatorName}: {d.reason}
            </li>
          ))}
        </ol>
      </div>

      <h2>Reports</h2>
      <div class="card">
        {c.reports.length === 0 ? <p class="muted">No report drafted.</p> : null}
        <ul id="reports">
          {c.reports.map((r) => (
            <li>
              {r.id} · {r.kind} (FM-1 reason {r.reasonCode}) · {r.status} · due <When at={r.dueAt} /> ·{' '}
              <a href={`/regulator/reports/${r.id}/fm1.xml`}>FM-1 XML</a> ·{' '}
              <a href={`/regulator/reports/${r.id}/ivms101.json`}>IVMS101 JSON</a>
            </li>
          ))}
        </ul>
      </div>

      {c.closed ? (
        <p class="muted">This case is closed.</p>
      ) : (
        <>
          <h2>Decision</h2>
          <div class="card">
            {awaitingSecond ? (
              <p class="notice">
                Cleared once by {c.decisions.find((d) => d.decision === 'clear')?.regulatorName}: a severe
                case needs a second, different regulator to clear it.
              </p>
            ) : null}
            <form method="post" action={`/regulator/cases/${c.id}/decisions`} id="decision-form">
              <CsrfField token={props.session.csrf} />
              <label>
                Reason (required)
                <textarea name="reason" required maxlength={2000} />
              </label>
              <div class="decisions">
                <button type="submit" name="decision" value="clear">
                  Clear
                </button>
                <button type="submit" name="decision" value="escalate" class="secondary">
                  Escalate
                </button>
                <button type="submit" name="decision" value="report" class="secondary">
                  Report (FM-1)
                </button>
                <button type="submit" name="decision" value="reject" class="secondary">
                  Reject
                </button>
              </div>
            </form>
          </div>
        </>
      )}
    </Page>
  );
}
