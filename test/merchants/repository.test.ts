import { networks } from 'bitcoinjs-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NetworkId } from '../../src/chains/networks';
import { reserveIndexBatch } from '../../src/chains/utxo/adapter';
import { ValidationError } from '../../src/lib/errors';
import {
  AccountKeyInUseError,
  createMerchant,
  getMerchant,
  highestUsedIndexes,
  type MerchantInput,
  setMerchantKey,
} from '../../src/merchants/repository';
import { DEMO_VPUB } from '../../src/seed';
import { bip32, MNEMONIC, mnemonicSeed, withVersion } from '../chains/utxo/reference';
import { freshDatabase, type TestDatabase } from '../helpers/db';
import { randomAccountKey } from '../helpers/services';

let db: TestDatabase;
beforeAll(async () => {
  db = await freshDatabase();
});
afterAll(() => db.close());

// BIP84 test vector ("abandon … about", m/84'/1'/0'/0/0): tb1q6rz28mcfaxtmd6v789l9rrlrusdprr9pz3cppk.
// The same witness program under the regtest prefixes, with their own checksums.
const FIRST_BTC_REGTEST = /^bcrt1q6rz28mcfaxtmd6v789l9rrlrusdprr9p[02-9ac-hj-np-z]{6}$/;
const FIRST_LTC_REGTEST = /^rltc1q6rz28mcfaxtmd6v789l9rrlrusdprr9p[02-9ac-hj-np-z]{6}$/;
const TPRV = bip32.fromSeed(mnemonicSeed(MNEMONIC), networks.testnet).derivePath("m/84'/1'/0'").toBase58();
const VPRV = withVersion(TPRV, 0x045f18bc);

const reserveIndex = async (merchantId: string, network: NetworkId): Promise<number> => {
  const [reserved] = await reserveIndexBatch(db.sql, [{ merchantId, networks: [network] }]);
  if (reserved instanceof Error) throw reserved;
  return reserved!.get(network)!;
};

const counts = async () => {
  const [r] =
    await db.sql`select (select count(*)::int from merchants) as m, (select count(*)::int from api_keys) as k,
    (select count(*)::int from merchant_keys) as mk, (select count(*)::int from audit_log) as a`;
  return r;
};

async function refused(input: MerchantInput): Promise<ValidationError> {
  const before = await counts();
  const err = await createMerchant(db.sql, input).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ValidationError);
  // Nothing written.
  expect(await counts()).toEqual(before);
  return err as ValidationError;
}

describe('createMerchant', () => {
  it('creates a merchant with the default settings, its keys and a first API key', async () => {
    const { merchant, apiKey } = await createMerchant(
      db.sql,
      {
        name: '  Kofe Alatau  ',
        bin: '123456789012',
        mode: 'test',
        xpubs: { 'bitcoin-regtest': DEMO_VPUB, 'litecoin-regtest': DEMO_VPUB },
      },
      'cli',
    );
    expect(merchant).toMatchObject({
      name: 'Kofe Alatau',
      bin: '123456789012',
      mode: 'test',
      speedPolicy: 'medium',
      paymentToleranceBp: 0,
      invoiceExpiryMinutes: 15,
      monitoringWindowMinutes: 1440,
      enabledOptions: ['BTC@bitcoin-regtest', 'LTC@litecoin-regtest'],
      evmPayoutAddress: null,
    });
    expect(merchant.id).toMatch(/^mer_/);
    expect(merchant.keys.map((k) => k.network)).toEqual(['bitcoin-regtest', 'litecoin-regtest']);
    expect(merchant.keys[0]!.firstAddress).toMatch(FIRST_BTC_REGTEST);
    expect(merchant.keys[1]!.firstAddress).toMatch(FIRST_LTC_REGTEST);
    expect(merchant.keys[0]!.scriptType).toBe('p2wpkh');
    expect(apiKey.apiKey).toMatch(/^sk_test_/);
    expect(await getMerchant(db.sql, merchant.id)).toEqual(merchant);
    const [audit] = await db.sql`select actor, action, subject, data from audit_log
      where action = 'merchant.created' and subject = ${merchant.id}`;
    expect(audit).toMatchObject({ actor: 'cli', data: { apiKeyId: apiKey.id, mode: 'test' } });
    expect(JSON.stringify(audit)).not.toContain(apiKey.apiKey);
  });

  it('a merchant without keys gets no options and can still be created', async () => {
    const { merchant } = await createMerchant(db.sql, { name: 'Bare', mode: 'live' });
    expect(merchant).toMatchObject({ keys: [], enabledOptions: [], mode: 'live' });
  });

  it.each([
    ['', 'name'],
    ['   ', 'name'],
    ['x'.repeat(201), 'name'],
  ])('refuses name %j', async (name, path) => {
    const err = await refused({ name, mode: 'test' });
    expect(err.errors!.map((e) => e.path)).toEqual([path]);
  });

  it.each(['12345', '1234567890123', '12345678901a', ' 123456789012', '１２３４５６７８９０１２'])(
    'refuses BIN %j, naming the field',
    async (bin) => {
      const err = await refused({ name: 'Shop', bin, mode: 'test' });
      expect(err.errors).toEqual([{ path: 'bin', message: 'a BIN has 12 digits' }]);
    },
  );

  it('names every bad field at once', async () => {
    const err = await refused({ name: '', bin: '1', mode: 'test', enabledOptions: ['DOGE@bitcoin'] });
    expect(err.errors!.map((e) => e.path).sort()).toEqual(['bin', 'enabledOptions', 'name']);
  });

  it('refuses a bad xpub, naming xpub.<network>', async () => {
    const err = await refused({ name: 'Shop', mode: 'test', xpubs: { 'bitcoin-regtest': 'vpub-nonsense' } });
    expect(err.code).toBe('invalid_account_key');
    expect(err.status).toBe(422);
    expect(err.errors![0]!.path).toBe('xpub.bitcoin-regtest');
    // A good key for one network and a bad one for another writes nothing either.
    const mixed = await refused({
      name: 'Shop',
      mode: 'test',
      xpubs: { 'bitcoin-regtest': DEMO_VPUB, 'litecoin-regtest': `${DEMO_VPUB.slice(0, -1)}x` },
    });
    expect(mixed.errors![0]!.path).toBe('xpub.litecoin-regtest');
  });

  it('refuses networks that take no xpub', async () => {
    for (const network of ['dogecoin', 'anvil', 'ethereum']) {
      const err = await refused({ name: 'Shop', mode: 'test', xpubs: { [network]: DEMO_VPUB } });
      expect(err.errors![0]!.path).toBe(`xpub.${network}`);
    }
  });

  it('refuses a private key and never echoes it', async () => {
    for (const key of [TPRV, VPRV]) {
      const err = await refused({ name: 'Shop', mode: 'test', xpubs: { 'bitcoin-regtest': key } });
      expect(err.errors![0]!.path).toBe('xpub.bitcoin-regtest');
      expect(err.message).toMatch(/private/);
      expect(JSON.stringify({ m: err.message, e: err.errors })).not.toContain(key.slice(4, 40));
    }
  });
});

describe('derivation indexes', () => {
  it('highestUsedIndexes: none yet, then the highest index handed out per network', async () => {
    // A key of its own: the BIP84 vector key belongs to the first merchant of this database.
    const key = randomAccountKey();
    const { merchant } = await createMerchant(db.sql, {
      name: 'Indexes',
      mode: 'test',
      xpubs: { 'bitcoin-regtest': key, 'litecoin-regtest': key },
    });
    expect(await highestUsedIndexes(db.sql, merchant.id)).toEqual([
      { network: 'bitcoin-regtest', highestIndex: null },
      { network: 'litecoin-regtest', highestIndex: null },
    ]);
    const got = await Promise.all(
      Array.from({ length: 5 }, () => reserveIndex(merchant.id, 'bitcoin-regtest')),
    );
    expect([...got].sort()).toEqual([0, 1, 2, 3, 4]);
    expect(await reserveIndex(merchant.id, 'litecoin-regtest')).toBe(0);
    expect(await highestUsedIndexes(db.sql, merchant.id)).toEqual([
      { network: 'bitcoin-regtest', highestIndex: 4 },
      { network: 'litecoin-regtest', highestIndex: 0 },
    ]);
    await expect(reserveIndex(merchant.id, 'bitcoin-testnet4')).rejects.toMatchObject({
      code: 'option_unavailable',
    });
    const other = await createMerchant(db.sql, { name: 'No keys', mode: 'test' });
    expect(await highestUsedIndexes(db.sql, other.merchant.id)).toEqual([]);
  });

  it('setting the same key again keeps its index (no address handed out twice); a new key starts at 0', async () => {
    const key = randomAccountKey();
    const { merchant } = await createMerchant(db.sql, {
      name: 'Rekey',
      mode: 'test',
      xpubs: { 'bitcoin-regtest': key },
    });
    const first = merchant.keys[0]!.firstAddress;
    for (let i = 0; i < 3; i++) await reserveIndex(merchant.id, 'bitcoin-regtest');
    const same = await setMerchantKey(db.sql, merchant.id, 'bitcoin-regtest', key, 'cli');
    expect(same.firstAddress).toBe(first);
    expect(await reserveIndex(merchant.id, 'bitcoin-regtest')).toBe(3);

    const otherKey = bip32
      .fromSeed(new Uint8Array(32).fill(7), networks.testnet)
      .derivePath("m/84'/1'/0'")
      .neutered()
      .toBase58();
    const vpub = withVersion(otherKey, 0x045f1cf6);
    const k = await setMerchantKey(db.sql, merchant.id, 'bitcoin-regtest', vpub, 'cli');
    expect(k.firstAddress).not.toBe(first);
    expect(await reserveIndex(merchant.id, 'bitcoin-regtest')).toBe(0);
    expect((await getMerchant(db.sql, merchant.id))!.keys[0]!.keyText).toBe(vpub);
    const audits = await db.sql`select action from audit_log where subject = ${merchant.id} order by id`;
    expect(audits.map((a) => a.action)).toEqual(['merchant.created', 'merchant.key_set', 'merchant.key_set']);
  });
});

describe("another merchant's account key", () => {
  const tpubOf = (seedByte: number) =>
    bip32
      .fromSeed(new Uint8Array(32).fill(seedByte), networks.testnet)
      .derivePath("m/84'/1'/0'")
      .neutered()
      .toBase58();

  it('is refused with 409 naming no one, in any encoding, at creation and in the settings; nothing is written', async () => {
    const tpub = tpubOf(21);
    const victim = await createMerchant(db.sql, {
      name: 'Victim',
      mode: 'test',
      xpubs: { 'bitcoin-testnet4': tpub },
    });
    const before = await counts();
    const err = await createMerchant(db.sql, {
      name: 'Squatter',
      mode: 'test',
      xpubs: { 'bitcoin-testnet4': tpub },
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AccountKeyInUseError);
    expect(err).toMatchObject({ status: 409, code: 'account_key_in_use' });
    expect((err as Error).message).not.toContain(victim.merchant.id);
    expect((err as Error).message).not.toContain('Victim');
    expect(await counts()).toEqual(before);

    // An existing merchant, through the settings (dashboard and CLI both call setMerchantKey): the same
    // key as a vpub, and as an output descriptor.
    const { merchant: other } = await createMerchant(db.sql, { name: 'Other', mode: 'test' });
    const vpub = withVersion(tpub, 0x045f1cf6);
    for (const text of [tpub, vpub, `wpkh(${tpub}/0/*)`]) {
      await expect(
        setMerchantKey(db.sql, other.id, 'bitcoin-testnet4', text, 'dashboard'),
      ).rejects.toMatchObject({
        status: 409,
        code: 'account_key_in_use',
      });
    }
    expect((await getMerchant(db.sql, other.id))!.keys).toEqual([]);
    // The owner may set it again. On the sandbox's regtest networks the published test-vector key is
    // shared on purpose (demo seed, README): allowed there.
    await setMerchantKey(db.sql, victim.merchant.id, 'bitcoin-testnet4', vpub, 'cli');
    await setMerchantKey(db.sql, other.id, 'bitcoin-regtest', tpub, 'dashboard');
  });

  it('30 merchants registering one key at once: exactly one gets it', async () => {
    const tpub = tpubOf(22);
    const made = await Promise.all(
      Array.from({ length: 30 }, (_, i) => createMerchant(db.sql, { name: `Racer ${i}`, mode: 'test' })),
    );
    const results = await Promise.allSettled(
      made.map(({ merchant }) => setMerchantKey(db.sql, merchant.id, 'bitcoin-testnet4', tpub, 'cli')),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results) {
      if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'account_key_in_use' });
    }
  });
});
