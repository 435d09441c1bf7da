// The checkout page's one script, bundled by esbuild into /assets/checkout.js (scripts/build-ui.ts; CSP
// `script-src 'self'`, nothing inline). The page works without it (links switch options and languages;
// a reload shows the status); with it: live status over server-sent events with a polling fallback, the
// countdown, copy buttons, the redirect after payment, and paying from an EIP-1193 browser wallet.
// The phase rules and the tenge format are the server's own modules, imported, not copied.
import type { CheckoutView } from '../../../checkout/routes';
import { fill, formatCountdown, formatTenge } from '../../i18n/format';
import { isPayable, phaseOf, statusText } from '../phase';
import { setupCopyButtons } from './copy';
import type { CheckoutData } from './data';
import { announce, byId } from './dom';
import { setupWallet } from './wallet';

type Payment = CheckoutView['payments'][number];
const counted = (p: Payment) => p.status === 'seen' || p.status === 'confirmed';

function start(root: HTMLElement, data: CheckoutData): void {
  const M = data.messages;
  const lang = data.lang;
  let view = data.view;
  const skewMs = Date.parse(view.serverTime) - Date.now();
  let stopped = false;
  let es: EventSource | null = null;
  let pollTimer: ReturnType<typeof setTimeout> | null = null;
  let redirectTimer: ReturnType<typeof setTimeout> | null = null;
  let expiryChecked = false;
  const now = () => new Date(Date.now() + skewMs);

  function renderPayments(v: CheckoutView): void {
    const list = byId('payments');
    const box = byId('payments-box');
    if (!list || !box) return;
    const shown = v.payments.filter(counted);
    box.hidden = shown.length === 0;
    list.replaceChildren(
      ...shown.map((p) => {
        const li = document.createElement('li');
        const a = document.createElement('span');
        a.textContent = `${formatTenge(lang, p.amountKzt)} · ${p.option.split('@')[0]}`;
        const b = document.createElement('span');
        b.className = 'muted';
        b.textContent = fill(M.confirmations, {
          n: Math.min(p.confirmations, p.confirmationsRequired),
          m: p.confirmationsRequired,
        });
        const tx = document.createElement('span');
        tx.className = 'txid small';
        tx.textContent = `${M.transaction}: `;
        const code = document.createElement('code');
        code.textContent = p.txid;
        tx.appendChild(code);
        li.append(a, b, tx);
        return li;
      }),
    );
  }

  function showRedirect(url: string, auto: boolean): void {
    const link = byId<HTMLAnchorElement>('back-link');
    if (link) {
      link.href = url;
      link.hidden = false;
    }
    if (!auto || redirectTimer) return;
    const note = byId('redirect-note');
    if (note) {
      note.textContent = fill(M.redirecting, { merchant: data.merchant });
      note.hidden = false;
    }
    redirectTimer = setTimeout(() => location.assign(url), data.redirectDelayMs);
  }

  function render(v: CheckoutView): void {
    const previous = view;
    view = v;
    const ph = phaseOf(v, now());
    // A partial payment changes what is still due: the server draws the QR code of the remainder.
    if (v.status === 'new' && previous.amountPaid !== v.amountPaid && ph.phase !== 'expired') {
      stopLive();
      location.reload();
      return;
    }
    const st = statusText(lang, M, ph, v, data.merchant);
    const box = byId('status');
    if (box) {
      if (box.getAttribute('data-phase') !== ph.phase) announce(st.title);
      box.setAttribute('data-phase', ph.phase);
      box.toggleAttribute('data-over', Boolean(ph.over));
    }
    const title = byId('status-title');
    if (title) title.textContent = st.title;
    const detail = byId('status-detail');
    if (detail) detail.textContent = st.detail;
    const payable = isPayable(ph.phase);
    // What only holds while the invoice can be paid: the options, the clock, "amounts locked".
    for (const id of ['pay', 'countdown-box', 'lock-note']) {
      const el = byId(id);
      if (el) el.hidden = !payable;
    }
    renderPayments(v);
    if (ph.phase === 'paid' || ph.phase === 'invalid') stopLive();
    if (v.redirectUrl && /^https?:\/\//i.test(v.redirectUrl))
      showRedirect(v.redirectUrl, ph.phase === 'paid');
  }

  function refresh(): Promise<void> {
    return fetch(`/v1/checkout/${encodeURIComponent(data.id)}`, {
      headers: { accept: 'application/json' },
      cache: 'no-store',
    })
      .then((r) => (r.ok ? (r.json() as Promise<CheckoutView>) : null))
      .then((v) => {
        if (v && !stopped) render(v);
      })
      .catch(() => {});
  }
  function poll(): void {
    pollTimer = null;
    void refresh().then(() => {
      if (!stopped) pollTimer = setTimeout(poll, data.pollMs);
    });
  }
  function startPolling(): void {
    if (pollTimer || stopped) return;
    root.setAttribute('data-live', 'polling');
    pollTimer = setTimeout(poll, 0);
  }
  function startLive(): void {
    if (typeof window.EventSource !== 'function') {
      startPolling();
      return;
    }
    let failures = 0;
    const source = new EventSource(`/v1/checkout/${encodeURIComponent(data.id)}/events`);
    es = source;
    root.setAttribute('data-live', 'events');
    source.addEventListener('status', (e) => {
      failures = 0;
      try {
        render(JSON.parse((e as MessageEvent<string>).data) as CheckoutView);
      } catch {
        // A bad frame: the next one will do.
      }
    });
    source.onerror = () => {
      failures++;
      // The server ends each stream after a while and EventSource reconnects; repeated failures or a
      // closed stream (a proxy that buffers, an HTTP error) fall back to polling.
      if (es && (es.readyState === EventSource.CLOSED || failures >= 3)) {
        es.close();
        es = null;
        startPolling();
      }
    };
  }
  function stopLive(): void {
    stopped = true;
    if (es) {
      es.close();
      es = null;
    }
    if (pollTimer) {
      clearTimeout(pollTimer);
      pollTimer = null;
    }
    root.setAttribute('data-live', 'stopped');
  }

  function tickClock(): void {
    const el = byId('countdown');
    if (!el) return;
    const left = Date.parse(view.expiresAt) - now().getTime();
    el.textContent = formatCountdown(left);
    byId('countdown-box')?.classList.toggle('urgent', left < 120_000);
    if (left <= 0 && view.status === 'new' && !expiryChecked) {
      expiryChecked = true;
      render(view);
      void refresh();
    }
    setTimeout(tickClock, 1000 - (Date.now() % 1000));
  }

  setupCopyButtons(M);
  setupWallet(data.id, data.option, M.wallet, () => void refresh());
  render(view);
  if (!stopped) startLive();
  tickClock();
}

const root = document.getElementById('checkout');
if (root) {
  let data: CheckoutData | null = null;
  try {
    data = JSON.parse(root.getAttribute('data-checkout') || '') as CheckoutData;
  } catch {
    data = null;
  }
  if (data) start(root, data);
}
