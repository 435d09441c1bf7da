import { secp256k1 } from '@noble/curves/secp256k1.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256, sha512 } from '@noble/hashes/sha2.js';
import { createBase58check } from '@scure/base';
import { HDKey } from '@scure/bip32';
import { networks } from 'bitcoinjs-lib';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  createDeriver,
  createDeriverCache,
  deriveAddress,
  deriveAddresses,
  descriptorChecksum,
  InvalidAccountKeyError,
  parseAccountKey,
} from '../../../src/chains/utxo/derive';
import { UTXO_PARAMS, type UtxoNetworkId } from '../../../src/chains/utxo/params';
import { ValidationError } from '../../../src/lib/errors';
import {
  bip32,
  LITECOIN,
  MNEMONIC,
  mnemonicSeed,
  type RefNetwork,
  refAddress,
  refNode,
  refOutputScriptHex,
  VPUB,
  withVersion,
  ZPUB,
} from './reference';

// Published vectors: BIP84 (ZPUB, VPUB in ./reference) and BIP86 ("abandon … about", master
// fingerprint 73c5da0a).
const XPUB86 =
  'xpub6BgBgsespWvERF3LHQu6CnqdvfEvtMcQjYrcRzx53QJjSxarj2af' +
  'YWcLteoGVky7D3UKDP9QyrLprQ3VCECoY49yfdDEHGCtMMj92pReUsQ';
const XPUB84 = withVersion(ZPUB, 0x0488b21e);
const TPUB84 = withVersion(VPUB, 0x043587cf);
// Bitcoin Core's getdescriptorinfo test vector.
const CORE_XPUB =
  'xpub6DJ2dNUysrn5Vt36jH2KLBT2i1auw1tTSSomg8PhqNiUtx8QX2Sv' +
  'C9nrHu81fT41fvDUnhMjEzQgXnQjKEu3oaqMSzhSrHMxyyoEAmUHQbY';

const withChecksum = (d: string): string => `${d}#${descriptorChecksum(d)}`;

function problem(fn: () => unknown): InvalidAccountKeyError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidAccountKeyError);
    expect(err).toBeInstanceOf(ValidationError);
    return err as InvalidAccountKeyError;
  }
  throw new Error('expected InvalidAccountKeyError');
}

describe('published vectors', () => {
  it('BIP84 mainnet: first and second receive addresses', () => {
    const d = createDeriver(parseAccountKey('bitcoin', ZPUB));
    expect(d.firstAddress()).toBe('bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu');
    expect(d.deriveAddress(0)).toEqual({
      address: 'bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu',
      scriptPubKeyHex: refOutputScriptHex('bitcoin', 'bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu'),
    });
    expect(d.deriveAddress(1).address).toBe('bc1qnjg0jd8228aq7egyzacy8cys3knf9xvrerkf9g');
  });

  it('BIP84 testnet vpub: first receive address', () => {
    expect(deriveAddress('bitcoin-testnet4', VPUB, 0).address).toBe(
      'tb1q6rz28mcfaxtmd6v789l9rrlrusdprr9pqcpvkl',
    );
    expect(deriveAddress('bitcoin-signet', VPUB, 0).address).toBe(
      'tb1q6rz28mcfaxtmd6v789l9rrlrusdprr9pqcpvkl',
    );
  });

  it('BIP86 taproot: first receive address', () => {
    const key = parseAccountKey('bitcoin', `tr([73c5da0a/86h/0h/0h]${XPUB86}/0/*)`);
    expect(key).toMatchObject({ scriptType: 'p2tr', source: 'descriptor' });
    const first = createDeriver(key).deriveAddress(0);
    expect(first.address).toBe('bc1p5cyxnuxmeuwuvkwfem96lqzszd02n6xdcjrs20cac6yqjjwudpxqkedrcr');
    expect(first.scriptPubKeyHex).toMatch(/^5120[0-9a-f]{64}$/);
    expect(first.scriptPubKeyHex).toBe(refOutputScriptHex('bitcoin', first.address));
  });

  it('the vectors follow from the mnemonic through the reference libraries', () => {
    const root = bip32.fromSeed(mnemonicSeed(MNEMONIC));
    expect(root.fingerprint).toEqual(Uint8Array.from([0x73, 0xc5, 0xda, 0x0a]));
    expect(root.derivePath("m/84'/0'/0'").neutered().toBase58()).toBe(XPUB84);
    expect(root.derivePath("m/86'/0'/0'").neutered().toBase58()).toBe(XPUB86);
  });
});

describe('one key, every spelling', () => {
  const bip84First = 'bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu';
  const spellings: [string, string][] = [
    ['zpub', ZPUB],
    ['xpub', XPUB84],
    ['zpub with whitespace', `  ${ZPUB}\n`],
    ['wpkh with origin', `wpkh([73c5da0a/84h/0h/0h]${XPUB84}/0/*)`],
    ["wpkh with ' origin", `wpkh([73c5da0a/84'/0'/0']${XPUB84}/0/*)`],
    ['wpkh without origin', `wpkh(${XPUB84}/0/*)`],
    ['wpkh multipath', `wpkh([73c5da0a/84h/0h/0h]${XPUB84}/<0;1>/*)`],
    ['wpkh with checksum', withChecksum(`wpkh([73c5da0a/84h/0h/0h]${XPUB84}/0/*)`)],
    ['wpkh multipath with checksum', withChecksum(`wpkh(${XPUB84}/<0;1>/*)`)],
    ['wpkh of a zpub', `wpkh(${ZPUB}/0/*)`],
  ];
  it.each(spellings)('%s', (_label, text) => {
    expect(createDeriver(parseAccountKey('bitcoin', text)).firstAddress()).toBe(bip84First);
  });

  it('keeps the text trimmed and the origin normalised', () => {
    const text = `wpkh([73C5DA0A/84'/0'/0']${XPUB84}/0/*)`;
    expect(parseAccountKey('bitcoin', `  ${text} `)).toEqual({
      network: 'bitcoin',
      scriptType: 'p2wpkh',
      source: 'descriptor',
      text,
      origin: { fingerprint: '73c5da0a', path: 'm/84h/0h/0h' },
    });
    expect(parseAccountKey('bitcoin', ZPUB)).toEqual({
      network: 'bitcoin',
      scriptType: 'p2wpkh',
      source: 'xpub',
      text: ZPUB,
    });
  });

  it('taproot descriptors with and without origin and checksum agree', () => {
    const first = 'bc1p5cyxnuxmeuwuvkwfem96lqzszd02n6xdcjrs20cac6yqjjwudpxqkedrcr';
    for (const text of [
      `tr(${XPUB86}/0/*)`,
      withChecksum(`tr([73c5da0a/86h/0h/0h]${XPUB86}/0/*)`),
      `tr([73c5da0a/86h/0h/0h]${XPUB86}/<0;1>/*)`,
    ]) {
      expect(deriveAddress('bitcoin', text, 0).address).toBe(first);
    }
  });

  it("derives the descriptor's own branch (change /1/*)", () => {
    for (const i of [0, 1, 7]) {
      expect(deriveAddress('bitcoin', `wpkh(${XPUB84}/1/*)`, i).address).toBe(
        refAddress('bitcoin', XPUB84, 'p2wpkh', i, [1]),
      );
      expect(deriveAddress('bitcoin', `wpkh(${XPUB84}/<1;0>/*)`, i).address).toBe(
        refAddress('bitcoin', XPUB84, 'p2wpkh', i, [1]),
      );
      expect(deriveAddress('bitcoin', `tr(${XPUB86}/3/5/*)`, i).address).toBe(
        refAddress('bitcoin', XPUB86, 'p2tr', i, [3, 5]),
      );
    }
  });

  it("accepts Bitcoin Core's own descriptor with its checksum", () => {
    const text = `wpkh([d34db33f/84h/0h/0h]${CORE_XPUB}/0/*)#cjjspncu`;
    expect(deriveAddress('bitcoin', text, 2).address).toBe(refAddress('bitcoin', CORE_XPUB, 'p2wpkh', 2));
  });
});

describe('networks', () => {
  it('regtest and litecoin addresses', () => {
    const regtest = deriveAddress('bitcoin-regtest', VPUB, 0).address;
    expect(regtest).toMatch(/^bcrt1q/);
    expect(regtest).toBe(refAddress('bitcoin-regtest', VPUB, 'p2wpkh', 0));

    const ltc = deriveAddress('litecoin', ZPUB, 0).address;
    expect(ltc).toMatch(/^ltc1q/);
    expect(ltc).toBe(refAddress('litecoin', ZPUB, 'p2wpkh', 0));
    // The same key as Ltub (Electrum-LTC's prefix) gives the same addresses.
    expect(deriveAddress('litecoin', withVersion(ZPUB, 0x019da462), 0).address).toBe(ltc);

    const rltc = deriveAddress('litecoin-regtest', TPUB84, 3).address;
    expect(rltc).toMatch(/^rltc1q/);
    expect(rltc).toBe(refAddress('litecoin-regtest', TPUB84, 'p2wpkh', 3));
    expect(deriveAddress('litecoin-testnet', VPUB, 3).address).toBe(
      refAddress('litecoin-testnet', VPUB, 'p2wpkh', 3),
    );

    const trRltc = deriveAddress('litecoin-regtest', `tr(${TPUB84}/0/*)`, 1).address;
    expect(trRltc).toMatch(/^rltc1p/);
    expect(trRltc).toBe(refAddress('litecoin-regtest', TPUB84, 'p2tr', 1));
  });

  it('refuses a mainnet key on a test network and the other way round', () => {
    for (const [network, key] of [
      ['bitcoin-testnet4', ZPUB],
      ['bitcoin-regtest', XPUB84],
      ['litecoin-regtest', XPUB84],
      ['bitcoin', VPUB],
      ['bitcoin', TPUB84],
      ['litecoin', VPUB],
      ['bitcoin', withVersion(ZPUB, 0x019da462)], // an Ltub is Litecoin's
      ['bitcoin-signet', `wpkh(${XPUB84}/0/*)`],
    ] as const) {
      const err = problem(() => parseAccountKey(network, key));
      expect(err.reason).toBe('network');
      expect(err.code).toBe('invalid_account_key');
      expect(err.errors).toEqual([{ path: 'xpub', message: err.message }]);
    }
  });

  it("refuses a descriptor whose origin names another chain's coin type", () => {
    const err = problem(() => parseAccountKey('litecoin', `wpkh([73c5da0a/84h/0h/0h]${XPUB84}/0/*)`, 'key'));
    expect(err.reason).toBe('network');
    expect(err.errors?.[0]?.path).toBe('key');
    expect(parseAccountKey('litecoin', `wpkh([73c5da0a/84h/2h/0h]${XPUB84}/0/*)`).origin?.path).toBe(
      'm/84h/2h/0h',
    );
    expect(
      problem(() => parseAccountKey('bitcoin-testnet4', `wpkh([73c5da0a/84h/0h/0h]${TPUB84}/0/*)`)).reason,
    ).toBe('network');
  });

  it('is not for EVM networks', () => {
    expect(problem(() => parseAccountKey('ethereum', ZPUB)).reason).toBe('network');
  });
});

describe('refusals', () => {
  const root = bip32.fromSeed(mnemonicSeed(MNEMONIC));
  const xprv = root.derivePath("m/84'/0'/0'").toBase58();
  const tprv = bip32.fromSeed(mnemonicSeed(MNEMONIC), networks.testnet).derivePath("m/84'/1'/0'").toBase58();
  const wif = root.derivePath("m/84'/0'/0'/0/0").toWIF();

  it('refuses private keys loudly and never echoes them', () => {
    for (const [network, text] of [
      ['bitcoin', xprv],
      ['bitcoin-testnet4', tprv],
      ['bitcoin', withVersion(xprv, 0x04b2430c)], // zprv
      ['bitcoin', `wpkh([73c5da0a/84h/0h/0h]${xprv}/0/*)`],
      ['bitcoin', withChecksum(`tr(${xprv}/0/*)`)],
      ['bitcoin', `wpkh(${wif})`],
      ['bitcoin', `${xprv.slice(0, -1)}x`], // even mistyped
    ] as const) {
      const err = problem(() => parseAccountKey(network, text));
      expect(err.reason).toBe('private_key');
      expect(err.message).toMatch(/never holds private keys/);
      expect(err.message).not.toContain(xprv.slice(4, 20));
    }
  });

  it('refuses hardened steps and wildcards below the public key', () => {
    for (const text of [
      `wpkh(${XPUB84}/0/*h)`,
      `wpkh(${XPUB84}/0/*')`,
      `wpkh(${XPUB84}/0h/*)`,
      `tr(${XPUB86}/1'/*)`,
    ]) {
      expect(problem(() => parseAccountKey('bitcoin', text)).reason).toBe('hardened');
    }
  });

  it('refuses descriptors it cannot watch', () => {
    for (const text of [
      `sh(wpkh(${XPUB84}/0/*))`,
      `pkh(${XPUB84}/0/*)`,
      `wsh(multi(1,${XPUB84}/0/*))`,
      `tr(${XPUB86}/0/*,pk(${XPUB84}/0/*))`,
      `wpkh(${XPUB84}/0/0)`,
      `wpkh(${XPUB84})`,
      `wpkh(${XPUB84}/<0;1>/<2;3>/*)`,
      withVersion(ZPUB, 0x049d7cb2), // ypub: P2SH-wrapped SegWit
      withVersion(ZPUB, 0x044a5262), // upub: a testnet BIP49 key
    ]) {
      const err = problem(() => parseAccountKey('bitcoin', text));
      expect(['unsupported', 'network']).toContain(err.reason);
    }
    expect(problem(() => parseAccountKey('litecoin', withVersion(ZPUB, 0x01b26ef6))).reason).toBe(
      'unsupported',
    );
    expect(problem(() => parseAccountKey('bitcoin', withVersion(ZPUB, 0x049d7cb2))).message).toMatch(/BIP49/);
  });

  it('checks the descriptor checksum when one is given', () => {
    const good = withChecksum(`wpkh([73c5da0a/84h/0h/0h]${XPUB84}/0/*)`);
    const sum = good.slice(-8);
    const flipped = good.slice(0, -1) + (sum.endsWith('q') ? 'p' : 'q');
    expect(problem(() => parseAccountKey('bitcoin', flipped)).reason).toBe('checksum');
    // The body changed after export: branch 1 instead of 0 under the old checksum.
    const edited = good.replace('/0/*)', '/1/*)');
    expect(problem(() => parseAccountKey('bitcoin', edited)).reason).toBe('checksum');
    expect(problem(() => parseAccountKey('bitcoin', `${good.slice(0, -1)}`)).reason).toBe('checksum');
    expect(problem(() => parseAccountKey('bitcoin', `${good}#${sum}`)).reason).toBe('malformed');
  });

  it('refuses malformed keys', () => {
    for (const text of [
      '',
      '   ',
      'hello',
      ZPUB.slice(0, -1),
      `${ZPUB.slice(0, 20)}0${ZPUB.slice(21)}`, // '0' is not base58
      `${XPUB84}/0/*`,
      'wpkh(03a34b99f22c790c4e36b2b3c2c35a36db06226e41c692fc82b8b56ac1c540c5bd)',
      `wpkh([73c5da0/84h]${XPUB84}/0/*)`,
      `wpkh(${XPUB84}/0/2147483648/*)`,
    ]) {
      expect(problem(() => parseAccountKey('bitcoin', text)).reason).toMatch(/malformed|unsupported/);
    }
  });
});

describe('descriptor checksum (BIP380)', () => {
  it("matches BIP380's and Bitcoin Core's vectors", () => {
    expect(descriptorChecksum('raw(deadbeef)')).toBe('89f8spxm');
    expect(descriptorChecksum(`wpkh([d34db33f/84h/0h/0h]${CORE_XPUB}/0/*)`)).toBe('cjjspncu');
    // src/test/descriptor_tests.cpp, "Checksums".
    const pub =
      "sh(multi(2,[00000000/111'/222]xpub6ERApfZwUNrhLCkDtcHTcxd75RbzS1ed54G1LkBUHQVHQKqhMkhgbmJbZRkrgZw4k" +
      'oxb5JaHWkY4ALHY2grBGRjaDMzQLcgJvLJuZZvRcEL,xpub68NZiKmJWnxxS6aaHmn81bvJeTESw724CRDs6HbuccFQN9Ku14VQr' +
      'ADWgqbhhTHBaohPX4CjNLf9fq9MYo6oDaPPLPxSb7gwQN3ih19Zm4Y/0))';
    expect(descriptorChecksum(pub)).toBe('tjg09x5t');
    expect(descriptorChecksum(pub.replace('multi(2,', 'multi(3,'))).toBe('d4x0uxyv');
    const prv =
      "sh(multi(2,[00000000/111'/222]xprvA1RpRA33e1JQ7ifknakTFpgNXPmW2YvmhqLQYMmrj4xJXXWYpDPS3xz7iA" +
      'xn8L39njGVyuoseXzU6rcxFLJ8HFsTjSyQbLYnMpCqE2VbFWc,xprv9uPDJpEQgRQfDcW7BkF7eTya6RPxXeJCqCJGHuCJ4G' +
      'iRVLzkTXBAJMu2' +
      'qaMWPrS7AANYqdq6vcBcBUdJCVVFceUvJFjaPdGZ2y9WACViL4L/0))';
    expect(descriptorChecksum(prv)).toBe('ggrsrxfy');
  });

  it('is undefined for characters outside the descriptor alphabet', () => {
    expect(descriptorChecksum('raw(Ü)')).toBeUndefined();
  });
});

/** The BIP84/BIP86 account key (m/84'|86'/coin'/0') of `seed`, made by the reference libraries. */
function referenceAccount(seed: Uint8Array, network: UtxoNetworkId, type: 'p2wpkh' | 'p2tr'): string {
  const params = UTXO_PARAMS[network];
  const net = params.testnet ? networks.testnet : network === 'litecoin' ? LITECOIN : networks.bitcoin;
  return bip32
    .fromSeed(seed, net)
    .derivePath(`m/${type === 'p2wpkh' ? 84 : 86}'/${params.coinType}'/0'`)
    .neutered()
    .toBase58();
}

describe('against bip32 + tiny-secp256k1 + bitcoinjs-lib', () => {
  it('the BIP84/BIP86 keys at random indexes', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), (i) => {
        expect(deriveAddress('bitcoin', ZPUB, i).address).toBe(refAddress('bitcoin', XPUB84, 'p2wpkh', i));
        expect(deriveAddress('bitcoin', `tr(${XPUB86}/0/*)`, i).address).toBe(
          refAddress('bitcoin', XPUB86, 'p2tr', i),
        );
      }),
      { numRuns: 40 },
    );
    const last = 2 ** 31 - 1;
    expect(deriveAddress('bitcoin', ZPUB, last).address).toBe(refAddress('bitcoin', XPUB84, 'p2wpkh', last));
  });

  it('random accounts on every UTXO network', () => {
    const networkIds = Object.keys(UTXO_PARAMS) as UtxoNetworkId[];
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.constantFrom(...networkIds),
        fc.constantFrom('p2wpkh' as const, 'p2tr' as const),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        (seed, network, type, index) => {
          const account = referenceAccount(seed, network, type);
          const coinType = UTXO_PARAMS[network].coinType;
          const text = type === 'p2wpkh' ? account : `tr([00000000/86h/${coinType}h/0h]${account}/0/*)`;
          const ours = createDeriver(parseAccountKey(network, text)).deriveAddress(index);
          expect(ours.address).toBe(refAddress(network as RefNetwork, account, type, index));
          expect(ours.scriptPubKeyHex).toBe(refOutputScriptHex(network as RefNetwork, ours.address));
        },
      ),
      { numRuns: 30 },
    );
  });
});

describe('deriveAddresses: many keys in one pass', () => {
  it('gives each job what the reference gives it, whatever else shares the pass', () => {
    const networkIds = Object.keys(UTXO_PARAMS) as UtxoNetworkId[];
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            seed: fc.uint8Array({ minLength: 32, maxLength: 32 }),
            network: fc.constantFrom(...networkIds),
            type: fc.constantFrom('p2wpkh' as const, 'p2tr' as const),
            index: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
          }),
          { minLength: 1, maxLength: 12 },
        ),
        (specs) => {
          const jobs = specs.map(({ seed, network, type, index }) => {
            const account = referenceAccount(seed, network, type);
            const keyText = type === 'p2wpkh' ? account : `tr(${account}/0/*)`;
            return {
              job: { network, keyText, index },
              ref: refAddress(network as RefNetwork, account, type, index),
            };
          });
          const got = deriveAddresses(jobs.map((j) => j.job));
          expect(got.map((g) => g.address)).toEqual(jobs.map((j) => j.ref));
          // The same as one at a time.
          expect(got).toEqual(jobs.map((j) => deriveAddress(j.job.network, j.job.keyText, j.job.index)));
        },
      ),
      { numRuns: 25 },
    );
  });

  it('the same key at consecutive indexes, and a pass of none', () => {
    const jobs = Array.from({ length: 20 }, (_, i) => ({
      network: 'bitcoin' as const,
      keyText: ZPUB,
      index: i,
    }));
    expect(deriveAddresses(jobs).map((d) => d.address)).toEqual(
      jobs.map((j) => refAddress('bitcoin', XPUB84, 'p2wpkh', j.index)),
    );
    expect(deriveAddresses([])).toEqual([]);
  });

  it('refuses a bad index for any job, like deriveAddress', () => {
    expect(() =>
      deriveAddresses([
        { network: 'bitcoin', keyText: ZPUB, index: 0 },
        { network: 'bitcoin', keyText: ZPUB, index: -1 },
      ]),
    ).toThrow(RangeError);
  });
});

describe('exceptional additions', () => {
  it('falls back correctly when the parent key meets the base-point table (doubling, cancellation)', () => {
    // An account key whose public key is G itself: whenever the tweak's lowest signed 8-bit digit is ±1
    // the first table addition is G + G or G - G, which the fast path must hand over to noble.
    const chainCode = sha256(new TextEncoder().encode('alatau exceptional'));
    const g = secp256k1.Point.BASE.toBytes(true);
    const raw = new Uint8Array(78);
    raw.set([0x04, 0x88, 0xb2, 0x1e, 3, 0, 0, 0, 0, 0x80, 0, 0, 0], 0);
    raw.set(chainCode, 13);
    raw.set(g, 45);
    const xpub = createBase58check(sha256).encode(raw);
    // wpkh(xpub/*) derives straight from G.
    const d = createDeriver(parseAccountKey('bitcoin', `wpkh(${xpub}/*)`));
    const top = refNode(xpub);
    const direct: number[] = [];
    for (let i = 0; direct.length < 3 && i < 5000; i++) {
      const data = new Uint8Array(37);
      data.set(top.publicKey, 0);
      new DataView(data.buffer).setUint32(33, i);
      const low = hmac(sha512, top.chainCode, data)[31]!;
      if (low === 1 || low === 255) direct.push(i);
    }
    expect(direct.length).toBe(3);
    for (const i of direct) {
      expect(d.deriveAddress(i).address).toBe(refAddress('bitcoin', xpub, 'p2wpkh', i, []));
    }
    // In one pass with ordinary jobs, the exceptional ones take the slow path and leave the others'
    // shared inversion alone.
    const jobs = [0, ...direct, 1].map((i, n) =>
      n % 2
        ? { network: 'bitcoin' as const, keyText: `wpkh(${xpub}/*)`, index: i }
        : { network: 'bitcoin' as const, keyText: ZPUB, index: i },
    );
    expect(deriveAddresses(jobs).map((x) => x.address)).toEqual(
      jobs.map((j) =>
        j.keyText === ZPUB
          ? refAddress('bitcoin', XPUB84, 'p2wpkh', j.index)
          : refAddress('bitcoin', xpub, 'p2wpkh', j.index, []),
      ),
    );
  });
});

describe('derivers and the cache', () => {
  afterEach(() => vi.restoreAllMocks());

  it('derives the branch once, then no BIP32 node per address', () => {
    const d = createDeriver(parseAccountKey('bitcoin', ZPUB));
    const spy = vi.spyOn(HDKey.prototype, 'deriveChild');
    for (let i = 0; i < 5; i++) d.deriveAddress(i);
    expect(spy).not.toHaveBeenCalled();
  });

  it('takes only integer indexes in 0..2^31-1', () => {
    const d = createDeriver(parseAccountKey('bitcoin', ZPUB));
    for (const bad of [-1, 1.5, 2 ** 31, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => d.deriveAddress(bad)).toThrow(RangeError);
    }
  });

  it('keeps at most maxSize derivers, least recently used out first', () => {
    const cache = createDeriverCache(2);
    const a = cache.get('bitcoin', ZPUB);
    expect(cache.get('bitcoin', ` ${ZPUB} `)).toBe(a);
    const b = cache.get('bitcoin', `tr(${XPUB86}/0/*)`);
    expect(cache.get('bitcoin', ZPUB)).toBe(a); // a is now the most recent
    cache.get('bitcoin-regtest', VPUB); // evicts b
    expect(cache.size).toBe(2);
    expect(cache.get('bitcoin', ZPUB)).toBe(a);
    expect(cache.get('bitcoin', `tr(${XPUB86}/0/*)`)).not.toBe(b);
    // The same text on another network is another account.
    expect(cache.get('litecoin', ZPUB)).not.toBe(a);
    expect(cache.deriveAddress('litecoin', ZPUB, 0).address).toMatch(/^ltc1/);
    expect(() => cache.get('bitcoin', 'nope')).toThrow(InvalidAccountKeyError);
    cache.clear();
    expect(cache.size).toBe(0);
  });
});
