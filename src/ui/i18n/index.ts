// The checkout's three languages: which one a request gets, its words, and tenge as each locale
// writes it (format.ts: our own rules, shared with the page script; never a float).
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

export { fill, formatCountdown, formatTenge } from './format';
