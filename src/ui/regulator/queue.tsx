import type { CaseListItem } from '../../aml/cases';
import { CASE_STATUSES } from '../../aml/cases';
import { RISKS } from '../../aml/types';
import { NETWORK_IDS } from '../../chains/networks';

import { kztAmount, Page, RiskBadge, type SessionView, When } from './layout';

export interface QueueFilters {
  readonly status?: string | undefined;
  readonly risk?: string | undefined;
  readonly network?: string | undefined;
  readonly merchant?: string | undefined;
  readonly minAmount?: string | undefined;
  readonly maxAmount?: string | undefined;
  readonly dueBefore?: string | undefined;
  readonly overdue?: string | undefined;
}

function Select(props: {
  name: string;
  label: string;
  value?: string | undefined;
  options: readonly string[];
}) {
  return (
    <label>
      {props.label}
      <select name={props.name}>
        <option value="">any</option>
        {props.options.map((o) => (
          <option value={o} selected={props.value === o}>
            {o}
          </option>
        ))}
      </select>
    </label>
  );
}

export function QueuePage(props: {
  session: SessionView;
  cases: readonly CaseListItem[];
  filters: QueueFilters;
  merchants: readonly { id: string; name: string }[];
  nextHref?: string | undefined;
  error?: string | undefined;
}) {
  const f = props.filters;
  return (
    <Page title="Case queue" session={props.session}>
      <h1>Case queue</h1>
      {props.error ? <p class="error">{props.error}</p> : null}
      {/* A read-only GET form: filters change nothing, so the token stays out of URLs. */}
      <form class="filters" method="get" action="/regulator/cases">
        <Select name="status" label="Status" value={f.status} options={CASE_STATUSES} />
        <Select name="risk" label="Risk" value={f.risk} options={RISKS} />
        <Select name="network" label="Network" value={f.network} options={NETWORK_IDS} />
        <label>
          Merchant
          <select name="merchant">
            <option value="">any</option>
            {props.merchants.map((m) => (
              <option value={m.id} selected={f.merchant === m.id}>
                {m.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Min KZT
          <input name="minAmount" inputmode="decimal" size={10} value={f.minAmount ?? ''} />
        </label>
        <label>
          Max KZT
          <input name="maxAmount" inputmode="decimal" size={10} value={f.maxAmount ?? ''} />
        </label>
        <label>
          Due by
          <input type="date" name="dueBefore" value={f.dueBefore ?? ''} />
        </label>
        <label>
          Overdue
          <select name="overdue">
            <option value="">any</option>
            <option value="true" selected={f.overdue === 'true'}>
              overdue only
            </option>
            <option value="false" selected={f.overdue === 'false'}>
              not overdue
            </option>
          </select>
        </label>
        <button type="submit">Filter</button>
      </form>
      <table id="cases">
        <thead>
          <tr>
            <th>Case</th>
            <th>Due</th>
            <th>Risk</th>
            <th>Status</th>
            <th class="num">Amount, KZT</th>
            <th>Network</th>
            <th>Merchant</th>
            <th>Reasons</th>
          </tr>
        </thead>
        <tbody>
          {props.cases.length === 0 ? (
            <tr>
              <td colspan={8} class="muted">
                No cases match.
              </td>
            </tr>
          ) : null}
          {props.cases.map((c) => (
            <tr class={c.overdue ? 'overdue' : ''} data-case={c.id}>
              <td>
                <a href={`/regulator/cases/${c.id}`}>{c.id}</a>
                {c.hold ? <div class="muted">payment held</div> : null}
              </td>
              <td>
                <When at={c.dueAt} />
                {c.overdue ? <div class="overdue-flag">OVERDUE</div> : null}
              </td>
              <td>
                <RiskBadge risk={c.risk} />
              </td>
              <td>{c.status}</td>
              <td class="num">{kztAmount(c.amountTiyn)}</td>
              <td>{c.network}</td>
              <td>{c.merchantName}</td>
              <td>{[...new Set(c.reasons.map((r) => r.code))].join(', ')}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {props.nextHref ? (
        <p>
          <a href={props.nextHref}>Next page →</a>
        </p>
      ) : null}
    </Page>
  );
}
