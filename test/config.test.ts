import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config';

function problemsOf(env: Record<string, string | undefined>): readonly string[] {
  try {
    loadConfig(env);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('has a default for everything', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      NETWORK_MODE: 'sandbox',
      PORT: 8787,
      HOST: '127.0.0.1',
      PUBLIC_URL: 'http://127.0.0.1:8787',
      DATABASE_POOL_MAX: 10,
      DATA_DIR: '.data',
      LOG_LEVEL: 'info',
      JOBS: true,
      TICK_INTERVAL_MS: 1000,
      BODY_LIMIT_BYTES: 65536,
      METADATA_LIMIT_BYTES: 8192,
      INVOICE_EXPIRY_MAX_MINUTES: 10080,
      RATE_TIMEOUT_MS: 5000,
      RATE_MAX_AGE_SECONDS: 300,
      RATE_CACHE_SECONDS: 30,
      NBK_URL: 'https://nationalbank.kz',
      BINANCE_URL: 'https://api.binance.com',
      KRAKEN_URL: 'https://api.kraken.com',
      COINGECKO_URL: 'https://api.coingecko.com',
      SEED_DEMO: true,
    });
    expect(c.DATABASE_URL).toBeUndefined();
  });

  it('ignores variables it does not know and undefined values', () => {
    const c = loadConfig({ PATH: '/usr/bin', HOME: '/root', PORT: undefined });
    expect(c.PORT).toBe(8787);
    expect(c).not.toHaveProperty('PATH');
  });

  it('parses the values it is given', () => {
    const c = loadConfig({
      NETWORK_MODE: 'testnet',
      PORT: '9000',
      HOST: '0.0.0.0',
      DATABASE_URL: ' postgresql://u:p@db:5432/x ',
      JOBS: 'no',
      SEED_DEMO: '0',
      LOG_LEVEL: 'debug',
    });
    expect(c.NETWORK_MODE).toBe('testnet');
    expect(c.PORT).toBe(9000);
    expect(c.JOBS).toBe(false);
    expect(c.SEED_DEMO).toBe(false);
    expect(c.DATABASE_URL).toBe('postgresql://u:p@db:5432/x');
    // Listening on every interface: links point at loopback, not at 0.0.0.0.
    expect(c.PUBLIC_URL).toBe('http://127.0.0.1:9000');
  });

  it('takes PUBLIC_URL as given, without trailing slashes; a blank DATABASE_URL means embedded', () => {
    expect(loadConfig({ PUBLIC_URL: 'https://pay.alatau.kz/' }).PUBLIC_URL).toBe('https://pay.alatau.kz');
    expect(loadConfig({ PUBLIC_URL: 'https://pay.alatau.kz/gw//' }).PUBLIC_URL).toBe(
      'https://pay.alatau.kz/gw',
    );
    expect(loadConfig({ DATABASE_URL: '   ' }).DATABASE_URL).toBeUndefined();
    expect(loadConfig({ DATABASE_URL: '' }).DATABASE_URL).toBeUndefined();
  });

  it.each([
    ['NETWORK_MODE', 'prod', /sandbox, testnet or mainnet/],
    ['PORT', 'http', /whole number from 0 to 65535/],
    ['PORT', '70000', /whole number from 0 to 65535/],
    ['PORT', '80.5', /whole number/],
    ['PORT', '', /whole number/],
    ['DATABASE_POOL_MAX', '0', /whole number from 1 to 200/],
    ['TICK_INTERVAL_MS', '10', /whole number from 50/],
    ['BODY_LIMIT_BYTES', '1e6', /whole number from 1024/],
    ['METADATA_LIMIT_BYTES', '-5', /whole number from 64/],
    ['INVOICE_EXPIRY_MAX_MINUTES', '99999999', /whole number from 1 to 43200/],
    ['RATE_TIMEOUT_MS', 'fast', /whole number/],
    ['RATE_MAX_AGE_SECONDS', '1', /whole number from 5/],
    ['RATE_CACHE_SECONDS', '3601', /whole number from 0 to 3600/],
    ['LOG_LEVEL', 'loud', /debug.*info.*warn.*error.*silent/],
    ['JOBS', 'maybe', /true or false/],
    ['SEED_DEMO', 'TRUE!', /true or false/],
    ['PUBLIC_URL', 'ftp://pay.example', /http\(s\) URL/],
    ['PUBLIC_URL', 'pay.example', /http\(s\) URL/],
    ['NBK_URL', 'nationalbank', /http\(s\) URL/],
    ['BINANCE_URL', 'file:///etc/passwd', /http\(s\) URL/],
    ['KRAKEN_URL', 'x', /http\(s\) URL/],
    ['COINGECKO_URL', 'javascript:alert(1)', /http\(s\) URL/],
    ['DATABASE_URL', 'mysql://root@db/x', /postgres:\/\/ connection string/],
    ['HOST', '', /HOST/],
    ['DATA_DIR', '', /DATA_DIR/],
  ])('%s=%j is refused with a message naming it and what it expects', (name, value, expects) => {
    const problems = problemsOf({ [name]: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]!.startsWith(`${name}: `)).toBe(true);
    expect(problems[0]).toMatch(expects);
  });

  it('lists every bad variable at once, and the error message carries them all', () => {
    let err: unknown;
    try {
      loadConfig({ PORT: 'x', NETWORK_MODE: 'y', JOBS: 'z' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const e = err as ConfigError;
    expect(e.code).toBe('invalid_config');
    expect(e.name).toBe('ConfigError');
    expect(e.problems.map((p) => p.split(':')[0]).sort()).toEqual(['JOBS', 'NETWORK_MODE', 'PORT']);
    for (const p of e.problems) expect(e.message).toContain(p);
    // It echoes harmless values so the operator sees the typo.
    expect(e.message).toContain('"x"');
  });

  it('never echoes a DATABASE_URL (it may hold a password), valid or not', () => {
    const secret = 'hunter2-Very-Secret';
    const bad = `mysql://admin:${secret}@db.internal/x`;
    let e = new ConfigError([]);
    try {
      loadConfig({ DATABASE_URL: bad, PORT: 'nope' });
    } catch (x) {
      e = x as ConfigError;
    }
    expect(e.problems.some((p) => p.startsWith('DATABASE_URL: '))).toBe(true);
    expect(e.message).not.toContain(secret);
    expect(e.message).not.toContain('db.internal');
    expect(JSON.stringify(e.problems)).not.toContain(secret);
    // A valid URL beside a bad variable is not mentioned either.
    try {
      loadConfig({ DATABASE_URL: `postgres://admin:${secret}@db/x`, PORT: 'nope' });
    } catch (x) {
      e = x as ConfigError;
    }
    expect(e.message).toContain('PORT');
    expect(e.message).not.toContain(secret);
  });

  it('truncates a long echoed value', () => {
    const long = `http${'x'.repeat(200)}`;
    const [p] = problemsOf({ NBK_URL: long });
    expect(p!.length).toBeLessThan(200);
    expect(p).toContain('…');
  });
});
