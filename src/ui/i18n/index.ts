// The checkout's three languages: which one a request gets, its words, and tenge as each locale
// writes it. Amounts reach Intl as decimal strings, which it formats exactly (never a float).
import { en, type Messages } from './en';
import { kk } from './kk';
import { ru } from './ru';

export const LANGS = ['kk', 'ru', 'en'] as const;
export type Lang = (typeof LANGS)[number];
export type { Messages };

const MESSAGES: Readonly<Record<Lang, Messages>> = { kk, ru, en };
/** The state language when the browser expresses no preference we serve. */
export const DEFAULT_LANG: Lang = 'kk';

export const isLang = (s: string | undefined): s is Lang => (LANGS as readonly string[]).includes(s ?? '');

export function messagesFor(lang: Lang): Messages {
  return MESSAGES[lang];
}

/**
 * `?lang=` when it names one of ours, else the best match of Accept-Language by q-value (primary
 * subtag: `ru-KZ` is Russian), else Kazakh.
 */
export function pickLang(query: string | undefined, acceptLanguage: string | undefined): Lang {
  if (isLang(query)) return query;
  const ranked = (acceptLanguage ?? '')
    .split(',')
    .slice(0, 20)
    .map((part, i) => {
      const [tag = '', ...params] = part.trim().split(';');
      const q = params.map((p) => /^\s*q=([01](?:\.[0-9]{0,3})?)\s*$/.exec(p)).find(Boolean);
      const weight = q ? Math.round(Number(q[1]) * 1000) : 1000;
      return { lang: tag.trim().toLowerCase().split('-')[0], weight, i };
    })
    .filter((x) => x.weight > 0)
    .sort((a, b) => b.weight - a.weight || a.i - b.i);
  for (const r of ranked) if (isLang(r.lang)) return r.lang;
  return DEFAULT_LANG;
}

/** Fills `{name}` placeholders; unknown names stay visible so a missing value is noticed. */
export function fill(template: string, vars: Readonly<Record<string, string | number>>): string {
  return template.replace(/\{(\w+)\}/g, (m, k: string) => (k in vars ? String(vars[k]) : m));
}

/** A tenge amount ("15000.00") as the locale writes it: `15 000,00 ₸` (kk, ru), `₸15,000.00` (en). */
export function formatTenge(lang: Lang, amount: string): string {
  const nf = new Intl.NumberFormat(MESSAGES[lang].locale, {
    style: 'currency',
    currency: 'KZT',
    currencyDisplay: 'narrowSymbol',
  });
  // Intl formats a decimal string exactly (ECMA-402 NumberFormat v3): no float on the money path.
  return nf.format(amount as unknown as number);
}

/** `mm:ss`, or `h:mm:ss` from an hour up; zero when the time is over. */
export function formatCountdown(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const mm = String(m).padStart(2, '0');
  const ss = String(s).padStart(2, '0');
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}
