// Numbers as the checkout's languages write them, from our own rules rather than the runtime's locale
// data: browsers ship without Kazakh number data (chromium writes kk-KZ tenge as "₸ 15,000.00"), so the
// page script and the server share this module and always agree. The rules are ICU's for kk-KZ, ru and
// en-GB with the narrow tenge sign; a test compares them with Node's full ICU. No float: amounts stay
// decimal strings or bigint all the way.

/** The languages whose rules are here (the same as the page languages). */
export type NumberLang = 'kk' | 'ru' | 'en';

interface Rules {
  readonly group: string;
  readonly decimal: string;
  /** The sign goes before the number (en) or after it, behind a no-break space (kk, ru). */
  readonly symbolFirst: boolean;
}

const NBSP = '\u00a0';
const RULES: Readonly<Record<NumberLang, Rules>> = {
  kk: { group: NBSP, decimal: ',', symbolFirst: false },
  ru: { group: NBSP, decimal: ',', symbolFirst: false },
  en: { group: ',', decimal: '.', symbolFirst: true },
};

const DECIMAL = /^(-?)(\d+)(?:\.(\d*))?$/;

/** Fills `{name}` placeholders; unknown names stay visible so a missing value is noticed. */
export function fill(template: string, vars: Readonly<Record<string, string | number>>): string {
  return template.replace(/\{(\w+)\}/g, (m, k: string) => (Object.hasOwn(vars, k) ? String(vars[k]) : m));
}

/** "1234567" → "1 234 567" (kk, ru: no-break spaces) or "1,234,567" (en). */
export function groupDigits(lang: NumberLang, digits: string): string {
  const sep = RULES[lang].group;
  let out = '';
  for (let i = 0; i < digits.length; i++) {
    if (i > 0 && (digits.length - i) % 3 === 0) out += sep;
    out += digits[i];
  }
  return out;
}

/**
 * A decimal string ("6000000.5", "-12") with `fraction` digits, rounded half away from zero as Intl
 * does, and grouped: "6,000,000.50". Anything that is not a decimal string comes back unchanged.
 */
export function formatDecimal(lang: NumberLang, amount: string, fraction = 2): string {
  const m = DECIMAL.exec(amount.trim());
  if (!m) return amount;
  const [, sign = '', whole = '0', frac = ''] = m;
  const scale = 10n ** BigInt(fraction);
  let units = BigInt(whole) * scale + BigInt((frac + '0'.repeat(fraction)).slice(0, fraction) || '0');
  // Round on the first dropped digit: half away from zero.
  if ((frac[fraction] ?? '0') >= '5') units += 1n;
  const intPart = (units / scale).toString();
  const fracPart = fraction > 0 ? (units % scale).toString().padStart(fraction, '0') : '';
  const negative = sign === '-';
  const r = RULES[lang];
  return `${negative ? '-' : ''}${groupDigits(lang, intPart)}${fracPart ? r.decimal + fracPart : ''}`;
}

/** A tenge amount ("15000.00") as the language writes it: `15 000,00 ₸` (kk, ru), `₸15,000.00` (en). */
export function formatTenge(lang: NumberLang, amount: string): string {
  const n = formatDecimal(lang, amount, 2);
  if (n === amount && !DECIMAL.test(amount.trim())) return `${amount} ₸`;
  const negative = n.startsWith('-');
  const body = negative ? n.slice(1) : n;
  const sign = negative ? '-' : '';
  return RULES[lang].symbolFirst ? `${sign}₸${body}` : `${sign}${body}${NBSP}₸`;
}

/** `a - b` of two decimal tenge strings ("15500.00" - "15000.00" = "500.00"), exactly. */
export function subtractTenge(a: string, b: string): string {
  const tiyn = (s: string): bigint => {
    const m = DECIMAL.exec(s.trim());
    if (!m) return 0n;
    const [, sign, whole = '0', frac = ''] = m;
    const v = BigInt(whole) * 100n + BigInt((frac + '00').slice(0, 2));
    return sign === '-' ? -v : v;
  };
  const d = tiyn(a) - tiyn(b);
  const abs = d < 0n ? -d : d;
  return `${d < 0n ? '-' : ''}${abs / 100n}.${(abs % 100n).toString().padStart(2, '0')}`;
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

/** A decimal string grouped, its fraction digits kept as given: "50000000" → "50,000,000" (en). */
export function groupNumber(lang: NumberLang, amount: string): string {
  const m = DECIMAL.exec(amount.trim());
  return m ? formatDecimal(lang, amount, (m[3] ?? '').length) : amount;
}
