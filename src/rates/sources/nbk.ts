// The National Bank of Kazakhstan's official rates: the tenge anchor of every price (USD/KZT).
// The XML is flat and small, so a tag reader is enough; every number in it is still validated.
import { type Decimal, normalize, pow10 } from '../../lib/money';
import type { PairQuote, RateSource, SourceOptions } from '../types';
import { getText, malformed, positiveDecimal, requireSome, trimSlash } from './shared';

const SERVICE = 'nbk';
/** Kazakhstan keeps one time zone, UTC+5, since 1 March 2024. */
const ALMATY_OFFSET_MS = 5 * 3_600_000;
const DAY_MS = 86_400_000;
/** Days without publication (holidays) are skipped back over, at most this many. */
const WALK_BACK_DAYS = 7;
export const NBK_CURRENCIES: readonly string[] = ['USD', 'EUR', 'RUB', 'CNY'];

export interface NbkRate {
  currency: string;
  /** Tenge per ONE unit: the published value divided by its quant. */
  kztPerUnit: Decimal;
  /** DD.MM.YYYY (dated endpoint) or the item's pubDate (RSS). */
  date: string | undefined;
}

export interface NbkDocument {
  rates: NbkRate[];
  /** Items that were skipped, and why. */
  problems: string[];
}

/** Parses `get_rates.cfm?fdate=`: `<rates>` with a `<date>` and one `<item>` per currency. */
export function parseNbkRates(xml: string): NbkDocument {
  if (!/<rates\b/.test(xml)) throw malformed(SERVICE, 'the body is not a <rates> document');
  const date = tagText(xml.replace(ITEM, ''), 'date');
  return parseItems(xml, () => date);
}

/**
 * Parses the RSS feed `rates_all.xml`. Only `<item>` blocks are read: the channel's own `<title>` and
 * `<description>` sit outside them and must never be taken for a rate.
 */
export function parseNbkRss(xml: string): NbkDocument {
  if (!/<rss\b/.test(xml) || !/<channel\b/.test(xml)) throw malformed(SERVICE, 'the body is not an RSS feed');
  return parseItems(xml, (item) => tagText(item, 'pubDate'));
}

const ITEM = /<item\b[^>]*>([\s\S]*?)<\/item>/g;

function parseItems(xml: string, dateOf: (item: string) => string | undefined): NbkDocument {
  const rates: NbkRate[] = [];
  const problems: string[] = [];
  for (const m of xml.matchAll(ITEM)) {
    const item = m[1]!;
    const currency = tagText(item, 'title') ?? '';
    const value = positiveDecimal(tagText(item, 'description'));
    const quantText = tagText(item, 'quant') ?? '';
    if (!/^[A-Z]{3}$/.test(currency)) {
      problems.push(`item with title "${currency.slice(0, 20)}" is not a currency code`);
    } else if (!value) {
      problems.push(`${currency}: the rate is not a positive number`);
    } else if (!/^[1-9][0-9]{0,9}$/.test(quantText)) {
      problems.push(`${currency}: the quant is not a positive integer`);
    } else {
      rates.push({ currency, kztPerUnit: divideByQuant(value, BigInt(quantText)), date: dateOf(item) });
    }
  }
  return { rates, problems };
}

function divideByQuant(d: Decimal, quant: bigint): Decimal {
  // The bank's quants are powers of ten (1, 10, 100, 1000): dividing only moves the decimal point.
  let k = 0;
  let q = quant;
  while (q % 10n === 0n) {
    q /= 10n;
    k++;
  }
  if (q === 1n) return normalize({ value: d.value, scale: d.scale + k });
  // Any other quant: 12 more places, rounded down (a lower rate is the merchant-safe side).
  return normalize({ value: (d.value * pow10(12)) / quant, scale: d.scale + 12 });
}

function tagText(xml: string, tag: string): string | undefined {
  const m = new RegExp(`<${tag}\\b[^>/]*>([\\s\\S]*?)</${tag}>`).exec(xml);
  if (!m) return undefined;
  return m[1]!
    .replace(/^\s*<!\[CDATA\[([\s\S]*?)\]\]>\s*$/, '$1')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&')
    .trim();
}

/** The calendar date in Almaty at `ms`, as the bank writes it: DD.MM.YYYY. */
export function almatyDate(ms: number): string {
  const d = new Date(ms + ALMATY_OFFSET_MS);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(d.getUTCDate())}.${pad(d.getUTCMonth() + 1)}.${d.getUTCFullYear()}`;
}

/** The instant a bank date begins in Almaty (DD.MM.YYYY), or an RSS date with its own zone. */
export function nbkDateStartMs(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const m = /^(\d{2})\.(\d{2})\.(\d{4})$/.exec(text);
  if (!m) {
    const ms = Date.parse(text);
    return Number.isFinite(ms) ? ms : undefined;
  }
  const [day, month, year] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const utc = Date.UTC(year, month - 1, day);
  // Date.UTC rolls 31.02 over into March: such a date was never published.
  if (new Date(utc).getUTCDate() !== day || new Date(utc).getUTCMonth() !== month - 1) return undefined;
  return utc - ALMATY_OFFSET_MS;
}

export interface NbkSourceOptions extends SourceOptions {
  /** Currencies to quote against KZT (default USD, EUR, RUB, CNY). */
  readonly currencies?: readonly string[];
  /** Older rates are stale; default: the walk-back window plus the day itself. */
  readonly maxAgeMs?: number;
}

/** `baseUrl` is the bank's site root, e.g. https://nationalbank.kz (paths /rss/… are appended). */
export function createNbkSource(options: NbkSourceOptions): RateSource {
  const now = options.now ?? Date.now;
  const base = trimSlash(options.baseUrl);
  const wanted = new Set(options.currencies ?? NBK_CURRENCIES);
  const maxAgeMs = options.maxAgeMs ?? (WALK_BACK_DAYS + 1) * DAY_MS;

  async function latestPublished(signal?: AbortSignal): Promise<NbkDocument> {
    const startMs = now();
    for (let back = 0; back <= WALK_BACK_DAYS; back++) {
      const date = almatyDate(startMs - back * DAY_MS);
      const url = `${base}/rss/get_rates.cfm?fdate=${date}`;
      const doc = parseNbkRates(await getText(SERVICE, url, options, 'application/xml', signal));
      if (doc.rates.length > 0 || doc.problems.length > 0) {
        for (const r of doc.rates) r.date ??= date;
        return doc;
      }
    }
    throw malformed(
      SERVICE,
      `no rates published in the ${WALK_BACK_DAYS + 1} days to ${almatyDate(startMs)}`,
    );
  }

  return {
    name: SERVICE,
    maxAgeMs,
    async fetchQuotes(_assets, signal) {
      let doc: NbkDocument;
      try {
        doc = await latestPublished(signal);
      } catch (err) {
        // The feed of current rates is a second door to the same data when the dated endpoint fails.
        try {
          doc = parseNbkRss(
            await getText(SERVICE, `${base}/rss/rates_all.xml`, options, 'application/xml', signal),
          );
        } catch {
          throw err;
        }
      }
      const t = now();
      const quotes: PairQuote[] = [];
      const problems = [...doc.problems];
      for (const rate of doc.rates) {
        if (!wanted.has(rate.currency)) continue;
        const atMs = nbkDateStartMs(rate.date);
        if (atMs === undefined) problems.push(`${rate.currency}: no valid date`);
        else if (atMs > t) problems.push(`${rate.currency}: dated ${rate.date}, not yet in force`);
        else if (t - atMs > maxAgeMs) problems.push(`${rate.currency}: stale (${rate.date})`);
        else
          quotes.push({ base: rate.currency, quote: 'KZT', value: rate.kztPerUnit, atMs, source: SERVICE });
      }
      return requireSome(SERVICE, quotes, problems);
    },
  };
}
