// The checkout page (GET /pay/{id}): everything a payer needs without the script (options and
// languages are links, the QR code is inline SVG); the script adds live status, the countdown, copy
// buttons and the browser-wallet payment. Only the public checkout view is rendered.
import { raw } from 'hono/html';
import type { NetworkId } from '../../chains/networks';
import type { CheckoutView } from '../../checkout/routes';
import { fill, formatCountdown, formatTenge, LANGS, type Lang, type Messages, messagesFor } from '../i18n';
import { Document } from '../layout';
import type { AddChainParams } from './chains';
import { NETWORK_NAMES } from './chains';
import type { CheckoutData, ClientMessages } from './client/data';
import { isPayable, phaseOf, statusText } from './phase';

type OptionView = CheckoutView['paymentOptions'][number];

export interface WalletOption {
  readonly option: string;
  readonly asset: string;
  readonly networkName: string;
  readonly chainId: number;
  readonly native: boolean;
  /** The gateway can sign intents for this network (router and signer configured). */
  readonly wallet: boolean;
  /** Tokens: offer an EIP-2612 permit before falling back to approve. */
  readonly permit: boolean;
  readonly addChain?: AddChainParams | undefined;
}

export interface CheckoutPageProps {
  readonly lang: Lang;
  readonly view: CheckoutView;
  readonly selected: OptionView | undefined;
  readonly qrSvg: string | undefined;
  readonly wallet: WalletOption | undefined;
  readonly now: Date;
  readonly pollMs: number;
  readonly redirectDelayMs: number;
}

const href = (id: string, lang: Lang, option?: string) => {
  const q = new URLSearchParams({ lang });
  if (option) q.set('option', option);
  return `/pay/${encodeURIComponent(id)}?${q}`;
};

/** The words the script needs, and nothing else. */
function clientMessages(t: Messages): ClientMessages {
  return {
    status: t.status,
    wallet: t.wallet,
    confirmations: t.confirmations,
    redirecting: t.redirecting,
    copied: t.copied,
    copyFailed: t.copyFailed,
    transaction: t.transaction,
  };
}

function LangSwitcher(props: { id: string; lang: Lang; option?: string | undefined; t: Messages }) {
  return (
    <nav aria-label={props.t.language}>
      <ul class="langs">
        {LANGS.map((l) => (
          <li>
            <a
              href={href(props.id, l, props.option)}
              lang={l}
              hreflang={l}
              aria-current={l === props.lang ? 'true' : undefined}
            >
              {messagesFor(l).langName}
            </a>
          </li>
        ))}
      </ul>
    </nav>
  );
}

export function CheckoutPage(p: CheckoutPageProps) {
  const { view, lang } = p;
  const t = messagesFor(lang);
  const merchant = view.merchant.name;
  const info = phaseOf(view, p.now);
  const st = statusText(lang, t, info, view, merchant);
  const payable = isPayable(info.phase);
  const o = p.selected;
  const left = Date.parse(view.expiresAt) - p.now.getTime();
  const counted = view.payments.filter((x) => x.status === 'seen' || x.status === 'confirmed');
  const partial = info.phase === 'partial';
  const networkName = o ? NETWORK_NAMES[o.network as NetworkId] : '';
  const data: CheckoutData = {
    id: view.id,
    lang,
    merchant,
    view,
    option: p.wallet ?? null,
    messages: clientMessages(t),
    pollMs: p.pollMs,
    redirectDelayMs: p.redirectDelayMs,
  };
  return (
    <Document lang={lang} title={fill(t.pageTitle, { merchant })} scripts={['checkout.js']}>
      <div class="checkout" id="checkout" data-checkout={JSON.stringify(data)} data-live="none">
        <header class="topbar">
          <span class="brand">alatau-pay</span>
          <LangSwitcher id={view.id} lang={lang} option={o?.option} t={t} />
        </header>
        <main>
          <section class="card summary" aria-labelledby="amount-label">
            <p class="merchant">
              {t.payTo}: <strong id="merchant-name">{merchant}</strong>
            </p>
            <p class="sr-only" id="amount-label">
              {t.amountToPay}
            </p>
            <p class="amount" id="amount-kzt">
              {formatTenge(lang, view.amount)}
            </p>
            {view.description ? (
              <p class="desc" id="description">
                {view.description}
              </p>
            ) : null}
            <p class="countdown" id="countdown-box" hidden={!payable}>
              <span>{t.timeLeft}</span>
              <time id="countdown" datetime={view.expiresAt} role="timer" aria-live="off">
                {formatCountdown(left)}
              </time>
            </p>
          </section>

          <section
            class="card status"
            id="status"
            data-phase={info.phase}
            data-over={info.over ? '' : undefined}
            aria-labelledby="status-title"
          >
            <h2 id="status-title">{st.title}</h2>
            <p id="status-detail">{st.detail}</p>
            <p id="redirect-note" class="next" hidden />
            <p class="next" id="back-box">
              <a
                id="back-link"
                class="button secondary"
                href={view.redirectUrl ?? '#'}
                hidden={!view.redirectUrl}
              >
                {fill(t.backToMerchant, { merchant })}
              </a>
            </p>
            <noscript>
              <p class="hint">{t.noscript}</p>
            </noscript>
          </section>
          <p id="live-note" class="sr-only" role="status" aria-live="polite" />

          <section class="card" id="pay" hidden={!payable} aria-labelledby="pay-title">
            <h2 id="pay-title">{t.payWith}</h2>
            <ul class="tabs">
              {view.paymentOptions.map((x) => (
                <li>
                  <a
                    href={href(view.id, lang, x.option)}
                    aria-current={x.option === o?.option ? 'true' : undefined}
                    data-option={x.option}
                  >
                    <span>{x.asset}</span>
                    <small>{NETWORK_NAMES[x.network as NetworkId]}</small>
                  </a>
                </li>
              ))}
            </ul>
            {o ? (
              <div class="option" id="option" data-option={o.option}>
                {partial ? <p class="hint">{t.remainderHint}</p> : null}
                {p.qrSvg ? (
                  <a class="qr" href={o.dueUri} id="qr" aria-label={t.openInWallet}>
                    {raw(p.qrSvg)}
                  </a>
                ) : null}
                <dl>
                  <div class="field">
                    <dt id="crypto-amount-label">{t.sendExactly}</dt>
                    <dd>
                      <span class="value amount" id="crypto-amount" data-value={o.amountDue}>
                        {o.amountDue} {o.asset}
                      </span>
                      <button type="button" class="copy secondary" data-copy="crypto-amount" hidden>
                        {t.copyAmount}
                      </button>
                    </dd>
                  </div>
                  <div class="field">
                    <dt>{t.toAddress}</dt>
                    <dd>
                      <span class="value" id="address" data-value={o.address}>
                        {o.address}
                      </span>
                      <button type="button" class="copy secondary" data-copy="address" hidden>
                        {t.copyAddress}
                      </button>
                    </dd>
                  </div>
                  <div class="field">
                    <dt>{t.network}</dt>
                    <dd id="network">{networkName}</dd>
                  </div>
                </dl>
                <div class="actions">
                  <a class="button" id="uri" href={o.dueUri}>
                    {t.openInWallet}
                  </a>
                  <span class="muted small or" id="wallet-or" hidden>
                    {t.wallet.or}
                  </span>
                  <button type="button" id="wallet-pay" hidden>
                    {t.wallet.button}
                  </button>
                  <p id="wallet-msg" class="wallet-msg" role="alert" hidden />
                  <code id="wallet-tx" class="small" hidden />
                </div>
                <p class="hint">{fill(t.scanHint, { network: networkName })}</p>
                <p class="hint" id="rate">
                  {fill(t.rateLine, { asset: o.asset, rate: formatTenge(lang, o.kztPerUnit) })}
                </p>
              </div>
            ) : null}
          </section>

          <section
            class="card"
            id="payments-box"
            hidden={counted.length === 0}
            aria-labelledby="payments-title"
          >
            <h2 id="payments-title">{t.paymentsTitle}</h2>
            <ul class="payments" id="payments">
              {counted.map((x) => (
                <li>
                  <span>
                    {formatTenge(lang, x.amountKzt)} · {x.option.split('@')[0]}
                  </span>
                  <span class="muted">
                    {fill(t.confirmations, {
                      n: Math.min(x.confirmations, x.confirmationsRequired),
                      m: x.confirmationsRequired,
                    })}
                  </span>
                  <span class="txid small">
                    {t.transaction}: <code>{x.txid}</code>
                  </span>
                </li>
              ))}
            </ul>
          </section>
        </main>
        <footer class="note" id="lock-note" hidden={!payable}>
          {t.footer}
        </footer>
      </div>
    </Document>
  );
}

export function CheckoutNotFound(props: { lang: Lang }) {
  const t = messagesFor(props.lang);
  return (
    <Document lang={props.lang} title={t.notFoundTitle}>
      <div class="checkout">
        <header class="topbar">
          <span class="brand">alatau-pay</span>
        </header>
        <main class="card">
          <h1>{t.notFoundTitle}</h1>
          <p>{t.notFoundText}</p>
        </main>
      </div>
    </Document>
  );
}
