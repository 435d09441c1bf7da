// The server half of SCRAM-SHA-256 (src/db/scram.ts) against a client computed here from RFC 5802,
// and against malformed or replayed messages: each is refused, none throws.
import { createHash, createHmac, pbkdf2Sync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ScramExchange, scramVerifier } from '../../src/db/scram';

const SECRET = 'a3f1'.repeat(16);
const verifier = scramVerifier(SECRET);

/** The client's final message for `serverFirst`, proving `password`. */
function clientFinal(password: string, clientFirstBare: string, serverFirst: string, binding = 'biws') {
  const a = Object.fromEntries(serverFirst.split(',').map((kv) => [kv[0], kv.slice(2)]));
  const salted = pbkdf2Sync(password, Buffer.from(a.s!, 'base64'), Number(a.i), 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const stored = createHash('sha256').update(clientKey).digest();
  const withoutProof = `c=${binding},r=${a.r}`;
  const auth = `${clientFirstBare},${serverFirst},${withoutProof}`;
  const sig = createHmac('sha256', stored).update(auth).digest();
  const proof = Buffer.from(clientKey.map((b, i) => b ^ sig[i]!)).toString('base64');
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return {
    message: `${withoutProof},p=${proof}`,
    expected: `v=${createHmac('sha256', serverKey).update(auth).digest('base64')}`,
  };
}

describe('SCRAM-SHA-256, server side', () => {
  it('accepts the right password and proves itself back; a wrong one is refused', () => {
    const ok = new ScramExchange(verifier);
    const sf = ok.first('n,,n=*,r=clientnonce123')!;
    expect(sf).toMatch(/^r=clientnonce123[A-Za-z0-9+/=]+,s=[A-Za-z0-9+/=]+,i=4096$/);
    const f = clientFinal(SECRET, 'n=*,r=clientnonce123', sf);
    expect(ok.final(f.message)).toBe(f.expected);

    const bad = new ScramExchange(verifier);
    const sf2 = bad.first('n,,n=*,r=clientnonce123')!;
    expect(bad.final(clientFinal('not it', 'n=*,r=clientnonce123', sf2).message)).toBeUndefined();
  });

  it('a proof is good for its own exchange only (fresh server nonce each time; one use)', () => {
    const one = new ScramExchange(verifier);
    const sf = one.first('n,,n=*,r=abc')!;
    const f = clientFinal(SECRET, 'n=*,r=abc', sf);
    expect(one.final(f.message)).toBe(f.expected);
    expect(one.final(f.message)).toBeUndefined(); // spent
    const two = new ScramExchange(verifier);
    const sf2 = two.first('n,,n=*,r=abc')!;
    expect(sf2).not.toBe(sf);
    expect(two.final(f.message)).toBeUndefined(); // replayed into another exchange
  });

  it('refuses malformed messages without throwing', () => {
    for (const first of [
      '',
      'garbage',
      'p=tls-server-end-point,,n=*,r=abc', // channel binding we do not offer
      'n,,r=abc', // no user
      'n,,n=*,r=', // empty nonce
      `n,,n=*,r=${'x'.repeat(300)}`, // oversized nonce
      'n,,n=*,r=a\u0001b', // a control character in the nonce
    ]) {
      expect(new ScramExchange(verifier).first(first), first).toBeUndefined();
    }
    const x = new ScramExchange(verifier);
    expect(x.final('c=biws,r=abc,p=AAAA')).toBeUndefined(); // final before first
    const sf = x.first('n,,n=*,r=abc')!;
    const f = clientFinal(SECRET, 'n=*,r=abc', sf, 'eSws'); // claims "y,," binding after sending "n,,"
    expect(x.final(f.message)).toBeUndefined();
    for (const final of ['', 'c=biws', 'c=biws,r=abc,p=', 'c=biws,r=abc,p=!!!!', 'p=,p=,p=']) {
      const e = new ScramExchange(verifier);
      e.first('n,,n=*,r=abc');
      expect(e.final(final), final).toBeUndefined();
    }
  });
});
