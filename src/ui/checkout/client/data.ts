// What the server hands the page script in the `data-checkout` attribute (page.tsx builds it, main.ts
// reads it): one type for both sides, so a renamed field fails the type check instead of the payer.
import type { CheckoutView } from '../../../checkout/routes';
import type { Lang, Messages } from '../../i18n';
import type { WalletOption } from '../page';

/** The words the script needs, and nothing else. */
export type ClientMessages = Pick<
  Messages,
  'status' | 'wallet' | 'confirmations' | 'redirecting' | 'copied' | 'copyFailed' | 'transaction'
>;

export interface CheckoutData {
  readonly id: string;
  readonly lang: Lang;
  readonly merchant: string;
  readonly view: CheckoutView;
  readonly option: WalletOption | null;
  readonly messages: ClientMessages;
  readonly pollMs: number;
  readonly redirectDelayMs: number;
}
