// The phase a payer is told about, from the public checkout view: every branch of phaseOf, and the
// neutral words for a held payment.
import { describe, expect, it } from 'vitest';
import { isPayable, phaseOf, statusText } from '../../src/ui/checkout/phase';
import { messagesFor } from '../../src/ui/i18n';

const now = new Date('2026-03-01T10:00:00Z');
const base = {
  status: 'new' as const,
  additionalStatus: 'none' as const,
  underReview: false,
  amount: '15000.00',
  amountPaid: '0.00',
  amountDue: '15000.00',
  expiresAt: '2026-03-01T10:15:00.000Z',
  payments: [] as {
    option: string;
    txid: string;
    amountKzt: string;
    confirmations: number;
    confirmationsRequired: number;
    status: 'seen' | 'confirmed' | 'reorged' | 'replaced';
    seenAt: string;
  }[],
};
const pay = (
  confirmations: number,
  confirmationsRequired: number,
  status: 'seen' | 'confirmed' | 'reorged' = 'seen',
) => ({
  option: 'BTC@bitcoin-regtest',
  txid: 'ab',
  amountKzt: '15000.00',
  confirmations,
  confirmationsRequired,
  status,
  seenAt: now.toISOString(),
});

describe('phaseOf', () => {
  it('waits for a payment, and calls an open invoice past its time expired', () => {
    expect(phaseOf(base, now)).toEqual({ phase: 'waiting' });
    expect(phaseOf(base, new Date('2026-03-01T10:15:00Z'))).toEqual({ phase: 'expired', partial: false });
  });
  it('shows a partial payment while the invoice is open', () => {
    const v = {
      ...base,
      additionalStatus: 'paid_partial' as const,
      amountPaid: '5000.00',
      amountDue: '10000.00',
    };
    expect(phaseOf(v, now)).toEqual({ phase: 'partial' });
    expect(isPayable('partial')).toBe(true);
  });
  it('seen, then confirming n of m by the least-confirmed payment; payments gone are ignored', () => {
    const v = { ...base, status: 'processing' as const, amountPaid: '15000.00' };
    expect(phaseOf({ ...v, payments: [pay(0, 2)] }, now)).toEqual({ phase: 'seen', n: 0, m: 2 });
    expect(phaseOf({ ...v, payments: [pay(2, 6, 'confirmed'), pay(1, 6, 'confirmed')] }, now)).toEqual({
      phase: 'confirming',
      n: 1,
      m: 6,
    });
    expect(phaseOf({ ...v, payments: [pay(0, 1, 'reorged'), pay(1, 2, 'confirmed')] }, now)).toEqual({
      phase: 'confirming',
      n: 1,
      m: 2,
    });
  });
  it('says "received, being checked" for a held payment', () => {
    const v = {
      ...base,
      status: 'processing' as const,
      underReview: true,
      payments: [pay(3, 1, 'confirmed')],
    };
    expect(phaseOf(v, now)).toEqual({ phase: 'review' });
    for (const lang of ['kk', 'ru', 'en'] as const) {
      const t = statusText(lang, messagesFor(lang), { phase: 'review' }, v, 'Kofe');
      expect(t.title).toBe(messagesFor(lang).status.review);
    }
  });
  it('paid, late, expired with money, invalid', () => {
    expect(phaseOf({ ...base, status: 'settled' }, now)).toEqual({ phase: 'paid' });
    expect(
      phaseOf({ ...base, status: 'expired', additionalStatus: 'paid_late', amountPaid: '1.00' }, now),
    ).toEqual({
      phase: 'late',
      partial: true,
    });
    expect(
      phaseOf({ ...base, status: 'expired', additionalStatus: 'paid_partial', amountPaid: '1.00' }, now),
    ).toEqual({
      phase: 'expired',
      partial: true,
    });
    expect(phaseOf({ ...base, status: 'invalid' }, now)).toEqual({ phase: 'invalid' });
    expect(isPayable('expired')).toBe(false);
  });
  it('puts amounts and confirmations into the words', () => {
    const v = {
      ...base,
      additionalStatus: 'paid_partial' as const,
      amountPaid: '5000.00',
      amountDue: '10000.00',
    };
    const ru = statusText('ru', messagesFor('ru'), { phase: 'partial' }, v, 'Kofe').detail.replace(
      /\u00a0/g,
      ' ',
    );
    expect(ru).toBe(
      'Получено 5 000,00 ₸. Осталось оплатить: 10 000,00 ₸. Отправьте остаток по реквизитам ниже.',
    );
    const en = statusText('en', messagesFor('en'), { phase: 'confirming', n: 1, m: 6 }, v, 'Kofe');
    expect(en).toEqual({ title: 'Confirming your payment', detail: 'Confirmations: 1 of 6.' });
  });
  it("an over-payment says what arrived and that the excess is the merchant's to return", () => {
    const v = { ...base, status: 'settled' as const, additionalStatus: 'paid_over' as const };
    const over = { ...v, amountPaid: '15500.50', amountDue: '0.00' };
    expect(phaseOf(over, now)).toEqual({ phase: 'paid', over: true });
    const en = statusText('en', messagesFor('en'), phaseOf(over, now), over, 'Kofe');
    expect(en.title).not.toBe('Paid');
    expect(en.detail).toBe(
      'Received ₸15,500.50 for an invoice of ₸15,000.00. The extra ₸500.50 is for Kofe to return: ' +
        'please contact them.',
    );
    for (const lang of ['kk', 'ru'] as const) {
      const t = statusText(lang, messagesFor(lang), phaseOf(over, now), over, 'Kofe');
      expect(t.detail.replace(/\u00a0/g, ' ')).toContain('500,50 ₸');
      expect(t.detail).toContain('Kofe');
    }
  });
});
