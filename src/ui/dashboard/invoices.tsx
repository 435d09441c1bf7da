// Dashboard pages about invoices: the overview with the volume chart, the filtered list, one invoice's
// timeline, and the form that creates an invoice.

import { ASSETS, type AssetId, explorerLink, type NetworkId } from '../../chains/networks';
import type { DayVolume, InvoiceDetail, Totals } from '../../dashboard/queries';
import { INVOICE_STATUSES } from '../../dashboard/queries';
import type { Invoice } from '../../invoices/repository';
import { requiredConfirmations } from '../../invoices/state';
import { formatUnits } from '../../lib/money';
import { NETWORK_NAMES } from '../checkout/chains';
import { groupNumber } from '../i18n/format';
import { VolumeChart } from './chart';
import {
  Badge,
  CsrfField,
  DashPage,
  ErrorBox,
  type FormErrors,
  kzt,
  Notice,
  type SessionView,
  When,
} from './layout';

function InvoiceTable({ invoices }: { invoices: readonly Invoice[] }) {
  if (invoices.length === 0) return <p class="muted">No invoices match.</p>;
  return (
    <div class="table-wrap">
      <table id="invoices">
        <thead>
          <tr>
            <th>Created</th>
            <th>Invoice</th>
            <th>Order</th>
            <th>Status</th>
            <th class="num">Amount</th>
            <th class="num">Paid</th>
          </tr>
        </thead>
        <tbody>
          {invoices.map((inv) => (
            <tr data-invoice={inv.id} data-status={inv.status}>
              <td>
                <When at={inv.createdAt} />
              </td>
              <td>
                <a href={`/dashboard/invoices/${inv.id}`} class="mono">
                  {inv.id}
                </a>
                {inv.description ? <div class="muted small">{inv.description}</div> : null}
              </td>
              <td>{inv.orderId ?? <span class="muted">–</span>}</td>
              <td>
                <Badge value={inv.status} />{' '}
                {inv.additionalStatus !== 'none' ? <Badge value={inv.additionalStatus} /> : null}{' '}
                {inv.review !== 'none' ? <Badge value={inv.review} /> : null}
              </td>
              <td class="num">{kzt(inv.amountTiyn)}</td>
              <td class="num">{kzt(inv.amountPaidTiyn)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function OverviewPage(props: {
  session: SessionView;
  totals: Totals;
  days: readonly DayVolume[];
  recent: readonly Invoice[];
}) {
  const today = props.days[props.days.length - 1];
  const month = props.days.reduce((s, d) => s + d.tiyn, 0n);
  return (
    <DashPage title="Overview" session={props.session} active="overview">
      <h1>Overview</h1>
      <div class="grid" id="stats">
        <div class="stat">
          Received today<b>{kzt(today?.tiyn ?? 0n)}</b>
        </div>
        <div class="stat">
          Last {props.days.length} days<b>{kzt(month)}</b>
        </div>
        <div class="stat">
          Paid invoices<b>{props.totals.paid}</b>
        </div>
        <div class="stat">
          Open invoices<b>{props.totals.open}</b>
        </div>
      </div>
      <h2>Daily volume</h2>
      <VolumeChart days={props.days} />
      <h2>Latest invoices</h2>
      <InvoiceTable invoices={props.recent} />
      <p>
        <a href="/dashboard/invoices">All invoices</a> ·{' '}
        <a href="/dashboard/invoices/new">Create an invoice</a>
      </p>
    </DashPage>
  );
}

export interface ListFilters {
  readonly status?: string | undefined;
  readonly orderId?: string | undefined;
  readonly from?: string | undefined;
  readonly to?: string | undefined;
}

const query = (f: ListFilters, extra: Record<string, string> = {}) => {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries({ ...f, ...extra })) if (v) q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : '';
};

export function InvoicesPage(props: {
  session: SessionView;
  invoices: readonly Invoice[];
  filters: ListFilters;
  next: string | null;
}) {
  const f = props.filters;
  return (
    <DashPage title="Invoices" session={props.session} active="invoices">
      <h1>Invoices</h1>
      <form method="get" action="/dashboard/invoices" class="inline" aria-label="Filter invoices">
        <label>
          Status
          <select name="status">
            <option value="">any</option>
            {INVOICE_STATUSES.map((s) => (
              <option value={s} selected={f.status === s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label>
          Order id <span class="help">exact, or a prefix ending in *</span>
          <input type="search" name="orderId" value={f.orderId ?? ''} maxlength={200} />
        </label>
        <label>
          From
          <input type="date" name="from" value={f.from ?? ''} />
        </label>
        <label>
          To
          <input type="date" name="to" value={f.to ?? ''} />
        </label>
        <button type="submit">Filter</button>
        <a class="button secondary" href="/dashboard/invoices">
          Clear
        </a>
      </form>
      <p class="small">
        Export what these filters select:{' '}
        <a href={`/dashboard/export/invoices.csv${query(f)}`} id="export-invoices">
          invoices (CSV)
        </a>{' '}
        ·{' '}
        <a href={`/dashboard/export/payments.csv${query(f)}`} id="export-payments">
          payments (CSV)
        </a>
      </p>
      <InvoiceTable invoices={props.invoices} />
      <div class="pager">
        {props.next ? (
          <a class="button secondary" href={`/dashboard/invoices${query(f, { after: props.next })}`}>
            Older invoices
          </a>
        ) : null}
      </div>
    </DashPage>
  );
}

const EVENT_LABELS: Record<string, string> = {
  'invoice.created': 'Invoice created',
  'invoice.payment_received': 'Payment received',
  'invoice.processing': 'Paid, waiting for confirmations',
  'invoice.settled': 'Settled',
  'invoice.expired': 'Expired',
  'invoice.invalid': 'Invalid',
  'invoice.held': 'Payment under review',
  'invoice.released': 'Review finished: released',
  'payment.reorged': 'A payment left the chain',
};

function EventTitle({ type }: { type: string }) {
  return (
    <>
      <strong>{EVENT_LABELS[type] ?? type}</strong> <span class="muted small">({type})</span>
    </>
  );
}

function TxLink({ network, txid }: { network: NetworkId; txid: string }) {
  const url = explorerLink(network, 'tx', txid);
  const short = txid.length > 20 ? `${txid.slice(0, 10)}…${txid.slice(-8)}` : txid;
  return url ? (
    <a href={url} class="mono" rel="noreferrer noopener" target="_blank" title={txid}>
      {short}
    </a>
  ) : (
    <span class="mono" title={txid}>
      {short}
    </span>
  );
}

export function InvoicePage(props: {
  session: SessionView;
  detail: InvoiceDetail;
  publicUrl: string;
  notice?: string | undefined;
  error?: FormErrors | undefined;
}) {
  const inv = props.detail.invoice;
  const checkoutUrl = `${props.publicUrl}/pay/${inv.id}`;
  const cancellable = inv.status === 'new' && inv.payments.length === 0;
  return (
    <DashPage title={`Invoice ${inv.id}`} session={props.session} active="invoices">
      <h1>
        Invoice <span class="mono">{inv.id}</span>
      </h1>
      <Notice text={props.notice} />
      <ErrorBox error={props.error} />
      <section class="card">
        <dl class="kv" id="invoice-summary">
          <dt>Status</dt>
          <dd id="invoice-status">
            <Badge value={inv.status} />{' '}
            {inv.additionalStatus !== 'none' ? <Badge value={inv.additionalStatus} /> : null}{' '}
            {inv.review !== 'none' ? <Badge value={inv.review} /> : null}
          </dd>
          <dt>Amount</dt>
          <dd>{kzt(inv.amountTiyn)}</dd>
          <dt>Paid</dt>
          <dd id="invoice-paid">{kzt(inv.amountPaidTiyn)}</dd>
          <dt>Order id</dt>
          <dd>{inv.orderId ?? '–'}</dd>
          <dt>Description</dt>
          <dd>{inv.description ?? '–'}</dd>
          <dt>Created</dt>
          <dd>
            <When at={inv.createdAt} />
          </dd>
          <dt>Expires</dt>
          <dd>
            <When at={inv.expiresAt} />
          </dd>
          <dt>Checkout</dt>
          <dd>
            <a href={checkoutUrl} id="checkout-link">
              {checkoutUrl}
            </a>
          </dd>
        </dl>
        {cancellable ? (
          <form method="post" action={`/dashboard/invoices/${inv.id}/cancel`} class="inline">
            <CsrfField token={props.session.csrf} />
            <button type="submit" class="danger">
              Cancel this invoice
            </button>
          </form>
        ) : null}
      </section>

      <h2>Payment options</h2>
      <div class="table-wrap">
        <table id="options">
          <thead>
            <tr>
              <th>Option</th>
              <th>Address</th>
              <th class="num">Amount</th>
              <th class="num">Rate (₸ per unit)</th>
            </tr>
          </thead>
          <tbody>
            {inv.options.map((o) => {
              const url = explorerLink(o.network, 'address', o.address);
              return (
                <tr>
                  <td>
                    {o.asset} <span class="muted small">{NETWORK_NAMES[o.network]}</span>
                  </td>
                  <td class="mono">{url ? <a href={url}>{o.address}</a> : o.address}</td>
                  <td class="num">
                    {formatUnits(o.amountAtomic, o.decimals)} {o.asset}
                  </td>
                  <td class="num">{groupNumber('en', o.rate.kztPerUnit)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>

      <h2>Payments</h2>
      {inv.payments.length === 0 ? (
        <p class="muted">No payment yet.</p>
      ) : (
        <div class="table-wrap">
          <table id="payments">
            <thead>
              <tr>
                <th>Seen</th>
                <th>Option</th>
                <th>Transaction</th>
                <th class="num">Amount</th>
                <th class="num">Tenge</th>
                <th>Confirmations</th>
                <th>Status</th>
              </tr>
            </thead>
            <tbody>
              {inv.payments.map((p) => {
                const asset = p.option.split('@')[0] as AssetId;
                const need = requiredConfirmations(inv.speedPolicy, p.network, p.rbf);
                return (
                  <tr data-payment={p.id}>
                    <td>
                      <When at={p.seenAt} />
                    </td>
                    <td>{p.option}</td>
                    <td>
                      <TxLink network={p.network} txid={p.txid} />
                    </td>
                    <td class="num">
                      {formatUnits(p.amountAtomic, ASSETS[asset]?.decimals ?? 0)} {asset}
                    </td>
                    <td class="num">{kzt(p.amountTiyn)}</td>
                    <td>
                      {p.confirmations} of {need}
                    </td>
                    <td>
                      <Badge value={p.status} />
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}

      <h2>Timeline</h2>
      <ol class="timeline" id="timeline">
        {props.detail.events.map((e) => (
          <li data-event={e.type}>
            <EventTitle type={e.type} /> · <When at={e.at} />
            {e.deliveries.length ? (
              <ul class="small">
                {e.deliveries.map((d) => (
                  <li data-delivery={d.id}>
                    Webhook to <span class="mono">{d.url}</span>: <Badge value={d.status} />
                    {d.attemptCount
                      ? ` after ${d.attemptCount} attempt${d.attemptCount === 1 ? '' : 's'}`
                      : ''}
                    {d.lastStatus ? ` (HTTP ${d.lastStatus})` : ''}
                    {d.lastError ? ` – ${d.lastError}` : ''} ·{' '}
                    <a href={`/dashboard/webhooks/${d.endpointId}#${d.id}`}>details</a>
                  </li>
                ))}
              </ul>
            ) : null}
          </li>
        ))}
      </ol>
    </DashPage>
  );
}

export interface NewInvoiceValues {
  readonly amount?: string;
  readonly description?: string;
  readonly orderId?: string;
  readonly redirectUrl?: string;
  readonly buyerEmail?: string;
  readonly expiresInMinutes?: string;
  readonly options?: readonly string[];
}

export function NewInvoicePage(props: {
  session: SessionView;
  available: readonly string[];
  defaultExpiry: number;
  values?: NewInvoiceValues;
  error?: FormErrors | undefined;
}) {
  const v = props.values ?? {};
  const chosen = new Set(v.options ?? props.available);
  return (
    <DashPage title="New invoice" session={props.session} active="new">
      <h1>New invoice</h1>
      <ErrorBox error={props.error} />
      <form method="post" action="/dashboard/invoices" class="stack" id="new-invoice">
        <CsrfField token={props.session.csrf} />
        <label>
          Amount in tenge <span class="help">for example 15000 or 15 000,50</span>
          <input name="amount" inputmode="decimal" required value={v.amount ?? ''} maxlength={30} />
        </label>
        <label>
          Description <span class="help">shown to the payer</span>
          <input name="description" value={v.description ?? ''} maxlength={1000} />
        </label>
        <label>
          Order id <span class="help">your reference, not shown to the payer</span>
          <input name="orderId" value={v.orderId ?? ''} maxlength={200} />
        </label>
        <fieldset>
          <legend>Payment options</legend>
          {props.available.length ? (
            <div class="checks">
              {props.available.map((o) => (
                <label>
                  <input type="checkbox" name="options" value={o} checked={chosen.has(o)} /> {o}
                </label>
              ))}
            </div>
          ) : (
            <p class="muted">
              No payment option is enabled yet: add an account key or an EVM payout address in{' '}
              <a href="/dashboard/settings">Settings</a>.
            </p>
          )}
        </fieldset>
        <label>
          Expires after (minutes)
          <input
            name="expiresInMinutes"
            type="number"
            min={1}
            inputmode="numeric"
            value={v.expiresInMinutes ?? String(props.defaultExpiry)}
          />
        </label>
        <label>
          Return the payer to <span class="help">optional http(s) URL after payment</span>
          <input name="redirectUrl" type="url" value={v.redirectUrl ?? ''} maxlength={2000} />
        </label>
        <label>
          Buyer email <span class="help">optional, never shown on the checkout page</span>
          <input name="buyerEmail" type="email" value={v.buyerEmail ?? ''} maxlength={320} />
        </label>
        <button type="submit">Create invoice</button>
      </form>
    </DashPage>
  );
}
