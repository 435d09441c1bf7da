import { afterEach, describe, expect, it } from 'vitest';
import { decimalToString } from '../../../src/lib/money';
import {
  almatyDate,
  createNbkSource,
  nbkDateStartMs,
  parseNbkRates,
  parseNbkRss,
} from '../../../src/rates/sources/nbk';
import { type FixtureServer, fixture, type Reply, startServer, xml } from '../server';

const DAY = fixture('nbk-get_rates-31.07.2026.xml');
const EMPTY = fixture('nbk-get_rates-empty.xml');
const RSS = fixture('nbk-rates_all.xml');
/** 31.07.2026 00:00 in Almaty (UTC+5). */
const JUL31_START = Date.UTC(2026, 6, 30, 19);

let server: FixtureServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function nbkAt(nowMs: number, route: (fdate: string | null, path: string) => Reply | undefined) {
  server = await startServer((url) => route(url.searchParams.get('fdate'), url.pathname));
  return createNbkSource({ baseUrl: `${server.baseUrl}/`, timeoutMs: 2000, now: () => nowMs });
}

const rateMap = (doc: ReturnType<typeof parseNbkRates>) =>
  Object.fromEntries(doc.rates.map((r) => [r.currency, decimalToString(r.kztPerUnit)]));

describe('parseNbkRates', () => {
  it('reads every item, dividing by the quant', () => {
    const doc = parseNbkRates(DAY);
    expect(doc.problems).toEqual([]);
    expect(rateMap(doc)).toEqual({
      AUD: '310.53',
      GBP: '610.42',
      EUR: '517.15',
      USD: '474.2',
      RUB: '5.48',
      CNY: '65.84',
      JPY: '3.1861',
      IRR: '0.01129',
      UZS: '0.0376',
      KGS: '5.42',
      CHF: '538.9',
    });
    expect(doc.rates.every((r) => r.date === '31.07.2026')).toBe(true);
  });

  it('never takes the document title or description for a rate', () => {
    const doc = parseNbkRates(DAY);
    expect(doc.rates).toHaveLength(11);
    expect(doc.rates.map((r) => r.currency)).not.toContain('Official exchange rates');
  });

  it('reads an empty day as no rates', () => {
    expect(parseNbkRates(EMPTY)).toEqual({ rates: [], problems: [] });
  });

  it('drops items whose numbers are not valid and keeps the rest', () => {
    const bad = DAY.replace('<description>310.53</description>', '<description>n/a</description>')
      .replace('<description>610.42</description>', '<description>-610.42</description>')
      .replace('<description>517.15</description>', '<description>0</description>')
      .replace(/<quant>1000<\/quant>/, '<quant>0</quant>');
    const doc = parseNbkRates(bad);
    expect(doc.rates.map((r) => r.currency)).toEqual(['USD', 'RUB', 'CNY', 'JPY', 'UZS', 'KGS', 'CHF']);
    expect(doc.problems).toHaveLength(4);
  });

  it('rounds a quant that is not a power of ten down at 12 extra places', () => {
    const doc = parseNbkRates(
      DAY.replace(
        '<description>5.42</description>\n  <quant>1</quant>',
        '<description>1</description>\n  <quant>3</quant>',
      ),
    );
    expect(decimalToString(doc.rates.find((r) => r.currency === 'KGS')!.kztPerUnit)).toBe('0.333333333333');
  });

  it('rejects a body that is not a rates document', () => {
    expect(() => parseNbkRates('<html><body>Service unavailable</body></html>')).toThrow(/not a <rates>/);
  });
});

describe('parseNbkRates reads XML as XML (saxes), not by pattern', () => {
  it('ignores an item inside a comment', () => {
    const fake = '<!-- <item><title>USD</title><description>1</description><quant>1</quant></item> -->';
    const doc = parseNbkRates(DAY.replace('<rates>', `<rates>${fake}`));
    expect(doc.rates).toHaveLength(11);
    expect(rateMap(doc).USD).toBe('474.2');
  });

  it('decodes entities and CDATA, and reads items with attributes', () => {
    const doc = parseNbkRates(
      DAY.replace(
        '<item>\n  <fullname>ДОЛЛАР США</fullname>',
        '<item lang="ru">\n  <fullname>ДОЛЛАР США</fullname>',
      )
        .replace('<title>USD</title>', '<title><![CDATA[USD]]></title>')
        .replace('<description>474.2</description>', '<description>&#52;74.2</description>'),
    );
    expect(doc.problems).toEqual([]);
    expect(rateMap(doc).USD).toBe('474.2');
  });

  it('refuses a body that is not well-formed, rather than reading half of it', () => {
    const cut = DAY.slice(0, DAY.indexOf('<title>RUB</title>'));
    expect(() => parseNbkRates(cut)).toThrow(/not well-formed XML/);
    expect(() => parseNbkRates(DAY.replace('</item>', '</itme>'))).toThrow(/not well-formed XML/);
  });

  it('only accepts <rates> as the root element', () => {
    expect(() => parseNbkRates(`<html>${DAY.replace(/^<\?xml[^>]*>/, '')}</html>`)).toThrow(/not a <rates>/);
  });

  it('expands no entity a DOCTYPE defines', () => {
    const doctype = '<!DOCTYPE rates [<!ENTITY usd "999">]>';
    const body = DAY.replace('<rates>', `${doctype}<rates>`).replace('474.2', '&usd;');
    expect(() => parseNbkRates(body)).toThrow(/not well-formed XML/);
  });
});

describe('parseNbkRss', () => {
  it('reads the items and skips the channel description that repeats the title', () => {
    const doc = parseNbkRss(RSS);
    expect(doc.problems).toEqual([]);
    expect(doc.rates).toHaveLength(11);
    expect(rateMap(doc).USD).toBe('474.2');
    expect(rateMap(doc).JPY).toBe('3.1861');
    expect(doc.rates[0]!.date).toBe('31.07.2026');
  });

  it('rejects a body that is not RSS', () => {
    expect(() => parseNbkRss(DAY)).toThrow(/not an RSS feed/);
  });
});

describe('Almaty dates', () => {
  it('uses UTC+5 for the calendar day', () => {
    expect(almatyDate(Date.UTC(2026, 6, 31, 18, 59))).toBe('31.07.2026');
    expect(almatyDate(Date.UTC(2026, 6, 31, 19, 0))).toBe('01.08.2026');
    expect(nbkDateStartMs('31.07.2026')).toBe(JUL31_START);
    expect(nbkDateStartMs('31.02.2026')).toBeUndefined();
    expect(nbkDateStartMs('tomorrow')).toBeUndefined();
  });
});

describe('createNbkSource', () => {
  it("quotes USD, EUR, RUB and CNY against KZT for today's date", async () => {
    const now = Date.UTC(2026, 6, 31, 10);
    const nbk = await nbkAt(now, (fdate) => (fdate === '31.07.2026' ? xml(DAY) : undefined));
    const quotes = await nbk.fetchQuotes(['BTC']);
    expect(quotes.map((q) => [`${q.base}/${q.quote}`, decimalToString(q.value), q.atMs, q.source])).toEqual([
      ['EUR/KZT', '517.15', JUL31_START, 'nbk'],
      ['USD/KZT', '474.2', JUL31_START, 'nbk'],
      ['RUB/KZT', '5.48', JUL31_START, 'nbk'],
      ['CNY/KZT', '65.84', JUL31_START, 'nbk'],
    ]);
    expect(server!.requests).toEqual(['/rss/get_rates.cfm?fdate=31.07.2026']);
  });

  it('asks for the Almaty date, which is already tomorrow late in the UTC evening', async () => {
    const nbk = await nbkAt(Date.UTC(2026, 6, 30, 20), (fdate) =>
      fdate === '31.07.2026' ? xml(DAY) : undefined,
    );
    await nbk.fetchQuotes([]);
    expect(server!.requests).toEqual(['/rss/get_rates.cfm?fdate=31.07.2026']);
  });

  it('walks back over days without publication', async () => {
    const nbk = await nbkAt(Date.UTC(2026, 7, 2, 6), (fdate) => xml(fdate === '31.07.2026' ? DAY : EMPTY));
    const quotes = await nbk.fetchQuotes([]);
    expect(quotes.find((q) => q.base === 'USD')?.atMs).toBe(JUL31_START);
    expect(server!.requests).toEqual([
      '/rss/get_rates.cfm?fdate=02.08.2026',
      '/rss/get_rates.cfm?fdate=01.08.2026',
      '/rss/get_rates.cfm?fdate=31.07.2026',
    ]);
  });

  it('walks back at most 7 days, then tries the RSS feed', async () => {
    const nbk = await nbkAt(Date.UTC(2026, 7, 6, 6), (fdate, path) =>
      path.endsWith('rates_all.xml') ? xml(RSS) : xml(fdate === '29.07.2026' ? DAY : EMPTY),
    );
    const quotes = await nbk.fetchQuotes([]);
    expect(server!.requests.filter((r) => r.includes('fdate'))).toHaveLength(8);
    expect(server!.requests.at(-2)).toBe('/rss/get_rates.cfm?fdate=30.07.2026');
    expect(server!.requests.at(-1)).toBe('/rss/rates_all.xml');
    expect(decimalToString(quotes.find((q) => q.base === 'USD')!.value)).toBe('474.2');
  });

  it('uses the RSS feed when the dated endpoint answers 500', async () => {
    const nbk = await nbkAt(Date.UTC(2026, 6, 31, 10), (_fdate, path) =>
      path.endsWith('rates_all.xml') ? xml(RSS) : xml('Internal Server Error', 500),
    );
    const quotes = await nbk.fetchQuotes([]);
    expect(quotes.map((q) => q.base)).toEqual(['EUR', 'USD', 'RUB', 'CNY']);
    expect(quotes[0]!.atMs).toBe(JUL31_START);
  });

  it('fails with the first error when both doors fail', async () => {
    const nbk = await nbkAt(Date.UTC(2026, 6, 31, 10), () => xml('Internal Server Error', 500));
    await expect(nbk.fetchQuotes([])).rejects.toMatchObject({ code: 'upstream_status', status: 503 });
  });

  it('fails on a malformed day', async () => {
    const nbk = await nbkAt(Date.UTC(2026, 6, 31, 10), (_f, path) =>
      path.endsWith('rates_all.xml') ? xml('<rss') : xml('<!DOCTYPE html><p>maintenance</p>'),
    );
    await expect(nbk.fetchQuotes([])).rejects.toMatchObject({ code: 'upstream_malformed' });
  });

  it('fails when the wanted rates are all unusable', async () => {
    const bad = DAY.replace(
      /<description>(474\.2|517\.15|5\.48|65\.84)<\/description>/g,
      '<description>0.00</description>',
    );
    const nbk = await nbkAt(Date.UTC(2026, 6, 31, 10), () => xml(bad));
    await expect(nbk.fetchQuotes([])).rejects.toMatchObject({ code: 'rate_source_empty' });
  });

  it('treats rates older than its window as stale', async () => {
    const old = RSS.replaceAll('31.07.2026', '01.07.2026');
    const nbk = await nbkAt(Date.UTC(2026, 6, 31, 10), (_f, path) =>
      path.endsWith('rates_all.xml') ? xml(old) : xml(EMPTY),
    );
    await expect(nbk.fetchQuotes([])).rejects.toThrow(/stale/);
  });

  it('ignores rates dated after today (not yet in force)', async () => {
    const nbk = await nbkAt(Date.UTC(2026, 6, 30, 10), (_f, path) =>
      path.endsWith('rates_all.xml') ? xml(RSS) : xml(EMPTY),
    );
    await expect(nbk.fetchQuotes([])).rejects.toThrow(/not yet in force/);
  });

  it('times out on a server that never answers', async () => {
    server = await startServer(() => ({ hang: true }));
    const nbk = createNbkSource({
      baseUrl: server.baseUrl,
      timeoutMs: 50,
      now: () => Date.UTC(2026, 6, 31, 10),
    });
    await expect(nbk.fetchQuotes([])).rejects.toMatchObject({ code: 'upstream_unavailable' });
  });
});
