import { networks } from 'bitcoinjs-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NetworkId } from '../../src/chains/networks';
import { reserveIndexBatch } from '../../src/chains/utxo/adapter';
import { ValidationError } from '../../src/lib/errors';
import {
  createMerchant,
  getMerchant,
  highestUsedIndexes,
  type MerchantInput,
  setMerchantKey,
} from '../../src/merchants/repository';
import { DEMO_VPUB } from '../../src/seed';
import { bip32, MNEMONIC, mnemonicSeed, withVersion } from '../chains/utxo/reference';
import { freshDatabase, type TestDatabase } from '../helpers/db';

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
    const { merchant } = await createMerchant(db.sql, {
      name: 'Indexes',
      mode: 'test',
      xpubs: { 'bitcoin-regtest': DEMO_VPUB, 'litecoin-regtest': DEMO_VPUB },
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
    const { merchant } = await createMerchant(db.sql, {
      name: 'Rekey',
      mode: 'test',
      xpubs: { 'bitcoin-regtest': DEMO_VPUB },
    });
    for (let i = 0; i < 3; i++) await reserveIndex(merchant.id, 'bitcoin-regtest');
    const same = await setMerchantKey(db.sql, merchant.id, 'bitcoin-regtest', DEMO_VPUB, 'cli');
    expect(same.firstAddress).toMatch(FIRST_BTC_REGTEST);
    expect(await reserveIndex(merchant.id, 'bitcoin-regtest')).toBe(3);

    const otherKey = bip32
      .fromSeed(new Uint8Array(32).fill(7), networks.testnet)
      .derivePath("m/84'/1'/0'")
      .neutered()
      .toBase58();
    const vpub = withVersion(otherKey, 0x045f1cf6);
    const k = await setMerchantKey(db.sql, merchant.id, 'bitcoin-regtest', vpub, 'cli');
    expect(k.firstAddress).not.toMatch(FIRST_BTC_REGTEST);
    expect(await reserveIndex(merchant.id, 'bitcoin-regtest')).toBe(0);
    expect((await getMerchant(db.sql, merchant.id))!.keys[0]!.keyText).toBe(vpub);
    const audits = await db.sql`select action from audit_log where subject = ${merchant.id} order by id`;
    expect(audits.map((a) => a.action)).toEqual(['merchant.created', 'merchant.key_set', 'merchant.key_set']);
  });
});
