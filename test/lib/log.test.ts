import { describe, expect, it } from 'vitest';
import { createLogger, redact } from '../../src/lib/log';
import { generateApiKey } from '../../src/merchants/apikeys';

function capture(level: Parameters<typeof createLogger>[0] = 'debug') {
  const lines: string[] = [];
  const logger = createLogger(level, (l) => lines.push(l));
  return { logger, lines };
}

const TEST_KEY = generateApiKey('test');
const LIVE_KEY = generateApiKey('live');
const WHSEC = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const PG_PASSWORD = 'Sup3r-S3cret.pw';
const PG_URL = `postgres://alatau:${PG_PASSWORD}@db.internal:5432/alatau`;

describe('redact', () => {
  it('removes API keys, webhook secrets and database passwords from text', () => {
    const text = `key ${TEST_KEY} live ${LIVE_KEY} hook ${WHSEC} db ${PG_URL}`;
    const out = redact(text);
    for (const secret of [TEST_KEY, LIVE_KEY, WHSEC, PG_PASSWORD, TEST_KEY.slice(8), LIVE_KEY.slice(8)]) {
      expect(out).not.toContain(secret);
    }
    // What is left still says what it was, so a log reader can tell.
    expect(out).toContain('sk_test_***');
    expect(out).toContain('sk_live_***');
    expect(out).toContain('whsec_');
    expect(out).toContain('postgres://alatau:***@db.internal:5432/alatau');
  });

  it('keeps only the non-secret label, not a single character of the secret', () => {
    const rk = 'rk_3yZe7d9KfQm2hT8wXc4VbN6sLpR1aGjUoE5iYtHkMnB';
    const xprv = `tprv${'8ZgxMBicQKsPd9TZ'.repeat(7)}`;
    expect(redact(`a ${WHSEC} b ${TEST_KEY} c ${LIVE_KEY} d ${rk} e ${xprv}`)).toBe(
      'a whsec_*** b sk_test_*** c sk_live_*** d rk_*** e tprv***',
    );
  });

  it('redacts postgresql:// URLs and every occurrence', () => {
    const out = redact(`a postgresql://u:pw1@h/x b postgres://v:pw2@h/y c ${TEST_KEY} ${TEST_KEY}`);
    expect(out).not.toMatch(/pw1|pw2/);
    expect(out.split('sk_test_***')).toHaveLength(3);
  });

  it('leaves ordinary text alone', () => {
    const text = 'invoice inv_01jd8x3q4m5n6p7r8s9t0v1w2x settled; postgres://localhost/db has no password';
    expect(redact(text)).toBe(text);
  });
});

describe('createLogger', () => {
  it('writes JSON lines with level, message and context', () => {
    const { logger, lines } = capture();
    logger.info('hello', { invoiceId: 'inv_x', amount: 5n });
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0]!);
    expect(line).toMatchObject({ level: 'info', msg: 'hello', invoiceId: 'inv_x', amount: '5' });
    expect(new Date(line.t).toString()).not.toBe('Invalid Date');
  });

  it('drops messages below its level', () => {
    const { logger, lines } = capture('warn');
    logger.debug('d');
    logger.info('i');
    logger.warn('w');
    logger.error('e');
    expect(lines.map((l) => JSON.parse(l).msg)).toEqual(['w', 'e']);
    const silent = capture('silent');
    silent.logger.error('x');
    expect(silent.lines).toEqual([]);
  });

  it('never writes a secret from the message, context values, nested objects, arrays or errors', () => {
    const { logger, lines } = capture();
    const err = new Error(`connect failed for ${PG_URL}`, { cause: new Error(`bad key ${TEST_KEY}`) });
    logger.error(`boot with ${LIVE_KEY}`, {
      url: PG_URL,
      nested: { deeper: { hook: WHSEC } },
      list: [TEST_KEY, { again: LIVE_KEY }],
      err,
    });
    const out = lines.join('\n');
    for (const secret of [TEST_KEY, LIVE_KEY, WHSEC, PG_PASSWORD]) expect(out).not.toContain(secret);
    const line = JSON.parse(lines[0]!);
    expect(line.err.message).toContain('postgres://alatau:***@');
    expect(line.err.cause.message).toContain('sk_test_***');
  });

  it.each([
    'password',
    'Password',
    'dbPassword',
    'passwd',
    'pass',
    'secret',
    'clientSecret',
    'webhook_secret',
    'apiKey',
    'api_key',
    'authorization',
    'token',
    'cookie',
    'privateKey',
  ])('hides the value of a field named %s, whatever it looks like', (name) => {
    const { logger, lines } = capture();
    logger.info('x', { [name]: 'plain-looking-value-42', nested: { [name]: 'other-value-43' } });
    const out = lines.join('\n');
    expect(out).not.toContain('plain-looking-value-42');
    expect(out).not.toContain('other-value-43');
    const line = JSON.parse(lines[0]!);
    expect(line[name]).toBe('***');
    expect(line.nested[name]).toBe('***');
  });

  it('keeps fields that are not secrets', () => {
    const { logger, lines } = capture();
    logger.info('x', { merchantId: 'mer_1', status: 'settled', count: 3, ok: true, none: null });
    expect(JSON.parse(lines[0]!)).toMatchObject({
      merchantId: 'mer_1',
      status: 'settled',
      count: 3,
      ok: true,
      none: null,
    });
  });
});

describe('RPC URLs with provider keys (issue 13 item 11)', () => {
  it('keep scheme and host only, at every level, wherever the key sits', () => {
    const lines: string[] = [];
    const log = createLogger('debug', (l) => lines.push(l));
    log.debug('rpc call', {
      url: 'https://mainnet.infura.io/v3/0123456789abcdef',
      err: new Error('fetch https://user:s3cret@rpc.example.com:8545/ failed'),
    });
    log.debug('esplora https://api.example.com/esplora?apikey=TOPSECRET down');
    const out = lines.join('\n');
    for (const secret of ['0123456789abcdef', 's3cret', 'user:', 'TOPSECRET'])
      expect(out).not.toContain(secret);
    expect(out).toContain('https://mainnet.infura.io/***');
    expect(out).toContain('https://rpc.example.com:8545/***');
    expect(redact('https://eth.llamarpc.com')).toBe('https://eth.llamarpc.com');
  });
});
