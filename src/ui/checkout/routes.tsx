// GET /pay/{id}: the checkout page in Kazakh, Russian or English, rendered on the server from the same
// public view as GET /v1/checkout/{id}. An open page also asks for a check of its own invoice.
import { NETWORKS, type NetworkId } from '../../chains/networks';
import { type CheckoutView, loadCheckout } from '../../checkout/routes';
import { newApi } from '../../http/api';
import { NotFoundError } from '../../lib/errors';
import type { Services } from '../../services';
import { fill, messagesFor, pickLang } from '../i18n';
import { setPageHeaders } from '../layout';
import { qrSvg } from '../qr';
import { addChainParams, NETWORK_NAMES } from './chains';
import { CheckoutNotFound, CheckoutPage, type WalletOption } from './page';
import { isPayable, phaseOf } from './phase';

type OptionView = CheckoutView['paymentOptions'][number];

export interface CheckoutPageOptions {
  /** How long the paid page shows before it returns the payer to the merchant's redirectUrl. */
  readonly redirectDelayMs?: number;
  /** The polling fallback's interval when server-sent events do not get through. */
  readonly pollMs?: number;
}

/** What the browser-wallet button needs, or undefined when the option cannot be paid that way here. */
export function walletOptionFor(services: Services, o: OptionView | undefined): WalletOption | undefined {
  if (!o) return undefined;
  const network = o.network as NetworkId;
  const net = NETWORKS[network];
  if (net.family !== 'evm' || net.chainId === undefined) return undefined;
  const native = o.asset === net.nativeAsset;
  const sandboxRpc =
    services.config.NETWORK_MODE === 'sandbox'
      ? services.evm?.networks.get('anvil')?.config.rpcUrls[0]
      : undefined;
  return {
    option: o.option,
    asset: o.asset,
    networkName: NETWORK_NAMES[network],
    chainId: net.chainId,
    native,
    wallet: Boolean(services.evm?.signer && o.details['routerAddress']),
    permit: !native,
    addChain: addChainParams(network, sandboxRpc),
  };
}

/** The payer's checkout page at /pay/{id}. */
export function checkoutPage(opts: CheckoutPageOptions = {}) {
  const app = newApi();
  app.get('/pay/:id', async (c) => {
    const services = c.get('services');
    const lang = pickLang(c.req.query('lang'), c.req.header('accept-language'));
    setPageHeaders(c);
    c.header('Content-Language', lang);
    c.header('Vary', 'Accept-Language');
    const id = c.req.param('id');
    let view: CheckoutView;
    try {
      await services.checkInvoice?.(id).catch(() => {});
      view = await loadCheckout(services, id);
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
      c.status(404);
      return c.html(<CheckoutNotFound lang={lang} />);
    }
    const now = new Date();
    const wanted = c.req.query('option');
    const selected = view.paymentOptions.find((o) => o.option === wanted) ?? view.paymentOptions[0];
    const payable = isPayable(phaseOf(view, now).phase);
    const t = messagesFor(lang);
    const qr =
      selected && payable
        ? qrSvg(selected.dueUri, fill(t.qrLabel, { amount: selected.amountDue, asset: selected.asset }))
        : undefined;
    return c.html(
      <CheckoutPage
        lang={lang}
        view={view}
        selected={selected}
        qrSvg={qr}
        wallet={walletOptionFor(services, selected)}
        now={now}
        pollMs={opts.pollMs ?? Math.max(2000, services.config.SSE_POLL_MS)}
        redirectDelayMs={opts.redirectDelayMs ?? 3000}
      />,
    );
  });
  return app;
}
