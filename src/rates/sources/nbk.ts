// The National Bank of Kazakhstan's official rates: the tenge anchor of every price (USD/KZT).
// The XML is read with saxes (already here for the OFAC list); every number in it is still validated.
import { SaxesParser } from 'saxes';
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
  const doc = readXml(xml);
  if (doc.root !== 'rates') throw malformed(SERVICE, 'the body is not a <rates> document');
  const date = doc.fields.get('date');
  return readItems(doc.items, () => date);
}

/**
 * Parses the RSS feed `rates_all.xml`. Only `<item>` elements are read: the channel's own `<title>` and
 * `<description>` sit outside them and must never be taken for a rate.
 */
export function parseNbkRss(xml: string): NbkDocument {
  const doc = readXml(xml);
  if (doc.root !== 'rss' || !doc.hasChannel) throw malformed(SERVICE, 'the body is not an RSS feed');
  return readItems(doc.items, (item) => item.get('pubDate'));
}

/** Element name → its text (entities decoded, CDATA unwrapped, trimmed). */
type Fields = Map<string, string>;

interface XmlDoc {
  readonly root: string | undefined;
  readonly hasChannel: boolean;
  /** The root's (or the RSS channel's) own simple children, such as `<date>`. */
  readonly fields: Fields;
  readonly items: Fields[];
}

/** Bodies are small (getText caps them at 1 MiB); anything deeper than this is not the bank's format. */
const MAX_DEPTH = 8;

/**
 * A real XML parser (saxes), so comments, CDATA, entities and attributes mean what they mean in XML
 * and a malformed body is refused rather than half-read. Only the predefined entities exist: a
 * DOCTYPE cannot define more.
 */
function readXml(xml: string): XmlDoc {
  const parser = new SaxesParser({ xmlns: false, position: false });
  const stack: string[] = [];
  let root: string | undefined;
  let hasChannel = false;
  const fields: Fields = new Map();
  const items: Fields[] = [];
  let item: Fields | undefined;
  let text = '';
  parser.on('opentag', (tag) => {
    if (stack.length === 0) root = tag.name;
    if (tag.name === 'channel' && stack.length === 1) hasChannel = true;
    if (tag.name === 'item' && !item) item = new Map();
    stack.push(tag.name);
    if (stack.length > MAX_DEPTH) throw new Error(`nested deeper than ${MAX_DEPTH} elements`);
    text = '';
  });
  parser.on('text', (t) => {
    text += t;
  });
  parser.on('cdata', (t) => {
    text += t;
  });
  parser.on('closetag', (tag) => {
    stack.pop();
    if (tag.name === 'item' && item) {
      items.push(item);
      item = undefined;
    } else if (item) {
      // A field of the item; the first of a name wins, as the bank never repeats one.
      if (!item.has(tag.name)) item.set(tag.name, text.trim());
    } else if (!fields.has(tag.name)) {
      fields.set(tag.name, text.trim());
    }
    text = '';
  });
  try {
    parser.write(xml).close();
  } catch (err) {
    throw malformed(
      SERVICE,
      `the body is not well-formed XML (${(err as Error).message.slice(0, 200)})`,
      err,
    );
  }
  return { root, hasChannel, fields, items };
}

function readItems(items: readonly Fields[], dateOf: (item: Fields) => string | undefined): NbkDocument {
  const rates: NbkRate[] = [];
  const problems: string[] = [];
  for (const item of items) {
    const currency = item.get('title') ?? '';
    const value = positiveDecimal(item.get('description'));
    const quantText = item.get('quant') ?? '';
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
