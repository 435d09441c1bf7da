// What the payer is told, derived from the public checkout view: one of a few phases, in neutral words.
// The server page and the page script (client/) both import this module, so live updates and a reload
// say the same thing. Browser-safe: type imports and the pure formatter only.
import type { CheckoutView } from '../../checkout/routes';
import type { Lang, Messages } from '../i18n';
import { fill, formatTenge, subtractTenge } from '../i18n/format';

export type Phase =
  | 'waiting'
  | 'partial'
  | 'seen'
  | 'confirming'
  | 'review'
  | 'paid'
  | 'expired'
  | 'late'
  | 'invalid';

export interface PhaseInfo {
  readonly phase: Phase;
  /** Confirmations of the least-confirmed payment, and how many it needs. */
  readonly n?: number;
  readonly m?: number;
  /** Expired with some money received. */
  readonly partial?: boolean;
  /** Paid more than the invoice: the excess is the merchant's to return. */
  readonly over?: boolean;
}

type ViewPart = Pick<
  CheckoutView,
  | 'status'
  | 'additionalStatus'
  | 'underReview'
  | 'amount'
  | 'amountPaid'
  | 'amountDue'
  | 'expiresAt'
  | 'payments'
>;

const counted = (p: { status: string }) => p.status === 'seen' || p.status === 'confirmed';

export function phaseOf(v: Omit<ViewPart, 'amount'>, now: Date): PhaseInfo {
  const paidSome = v.amountPaid !== '0.00';
  if (v.status === 'settled') {
    return v.additionalStatus === 'paid_over' ? { phase: 'paid', over: true } : { phase: 'paid' };
  }
  if (v.status === 'processing') {
    // Neutral: a held payment is "received, being checked", never why.
    if (v.underReview) return { phase: 'review' };
    const list = v.payments.filter(counted);
    let worst: (typeof list)[number] | undefined;
    for (const p of list) {
      if (p.confirmations >= p.confirmationsRequired) continue;
      if (!worst || p.confirmations < worst.confirmations) worst = p;
    }
    if (!worst) {
      const m = list.reduce((a, p) => Math.max(a, p.confirmationsRequired), 1);
      return { phase: 'confirming', n: m, m };
    }
    return {
      phase: worst.confirmations === 0 ? 'seen' : 'confirming',
      n: worst.confirmations,
      m: worst.confirmationsRequired,
    };
  }
  if (v.status === 'invalid') return { phase: 'invalid' };
  if (v.status === 'expired') {
    return { phase: v.additionalStatus === 'paid_late' ? 'late' : 'expired', partial: paidSome };
  }
  if (now.getTime() >= Date.parse(v.expiresAt)) return { phase: 'expired', partial: paidSome };
  if (v.additionalStatus === 'paid_partial' && paidSome) return { phase: 'partial' };
  return { phase: 'waiting' };
}

export const isPayable = (p: Phase): boolean => p === 'waiting' || p === 'partial';

/** The heading and sentence for a phase, in the page's language. */
export function statusText(
  lang: Lang,
  t: Pick<Messages, 'status'>,
  info: PhaseInfo,
  v: ViewPart,
  merchant: string,
): { title: string; detail: string } {
  const S = t.status;
  const vars = {
    merchant,
    paid: formatTenge(lang, v.amountPaid),
    due: formatTenge(lang, v.amountDue),
    amount: formatTenge(lang, v.amount),
    excess: formatTenge(lang, subtractTenge(v.amountPaid, v.amount)),
    n: info.n ?? 0,
    m: info.m ?? 0,
  };
  const detail: Record<Phase, string> = {
    waiting: S.waitingDetail,
    partial: S.partialDetail,
    seen: S.seenDetail,
    confirming: S.confirmingDetail,
    review: S.reviewDetail,
    paid: S.paidDetail,
    late: S.lateDetail,
    invalid: S.invalidDetail,
    expired: info.partial ? S.expiredPartialDetail : S.expiredDetail,
  };
  if (info.phase === 'paid' && info.over) return { title: S.paidOver, detail: fill(S.paidOverDetail, vars) };
  return { title: S[info.phase], detail: fill(detail[info.phase], vars) };
}
