import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import { base58 } from '@scure/base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthError, NotFoundError } from '../../src/lib/errors';
import {
  type ApiKeyRecord,
  apiKeyFromJson,
  apiKeysJson,
  authenticateApiKey,
  createApiKey,
  createKeyUseRecorder,
  generateApiKey,
  hashApiKey,
  keyHashHex,
  revokeApiKey,
} from '../../src/merchants/apikeys';
import { createMerchant } from '../../src/merchants/repository';
import { freshDatabase, recordingClient, type TestDatabase } from '../helpers/db';

let db: TestDatabase;
let merchantId: string;
let liveMerchantId: string;
let firstKey: string;
beforeAll(async () => {
  db = await freshDatabase();
  const m = await createMerchant(db.sql, { name: 'Keys', mode: 'test' });
  merchantId = m.merchant.id;
  firstKey = m.apiKey.apiKey;
  liveMerchantId = (await createMerchant(db.sql, { name: 'Live', mode: 'live' })).merchant.id;
});
afterAll(() => db.close());

async function authError(key: string, mode: 'test' | 'live' = 'test'): Promise<AuthError> {
  const err = await authenticateApiKey(db.sql, key, mode).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AuthError);
  expect((err as AuthError).status).toBe(401);
  // The message never echoes the key.
  expect((err as Error).message).not.toContain(key.slice(8) || '\u0000');
  return err as AuthError;
}

describe('generateApiKey', () => {
  it('is the mode prefix and 32 random bytes in base58', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const key = generateApiKey(i % 2 ? 'live' : 'test');
      expect(key).toMatch(/^sk_(test|live)_[1-9A-HJ-NP-Za-km-z]{40,50}$/);
      expect(key.startsWith(i % 2 ? 'sk_live_' : 'sk_test_')).toBe(true);
      const raw = base58.decode(key.slice(8));
      expect(raw.length).toBe(32);
      seen.add(key);
    }
    expect(seen.size).toBe(200);
  });
});

describe('stored only as a hash', () => {
  it('no column of any table holds the key, in text or as bytes', async () => {
    const created = await createApiKey(db.sql, merchantId, 'test', 'pos terminal');
    const key = created.apiKey;
    const [row] = await db.sql`select * from api_keys where id = ${created.id}`;
    expect(Buffer.from(row!.key_hash).toString('hex')).toBe(keyHashHex(key));
    expect(row!.prefix).toBe(key.slice(0, 16));
    expect(row).toMatchObject({
      merchant_id: merchantId,
      mode: 'test',
      label: 'pos terminal',
      revoked_at: null,
    });
    const secretPart = key.slice(16);
    const hexOfKey = bytesToHex(utf8ToBytes(key));
    const tables = await db.sql<{ table_name: string }[]>`
      select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE'`;
    expect(tables.map((t) => t.table_name)).toContain('api_keys');
    for (const { table_name } of tables) {
      const rows = await db.sql`select t::text as row from ${db.sql(table_name)} t`;
      for (const r of rows) {
        const text = String(r.row);
        expect(text).not.toContain(key);
        expect(text).not.toContain(secretPart);
        expect(text).not.toContain(hexOfKey.slice(32));
      }
    }
    expect(bytesToHex(hashApiKey(key))).toHaveLength(64);
  });
});

describe('authenticateApiKey', () => {
  it('resolves a key to its merchant and records its last use', async () => {
    const created = await createApiKey(db.sql, merchantId, 'test');
    const lastUsed = async () => {
      const [r] = await db.sql`select last_used_at from api_keys where id = ${created.id}`;
      return r!.last_used_at as Date | null;
    };
    expect(await lastUsed()).toBeNull();
    expect(await authenticateApiKey(db.sql, created.apiKey, 'test')).toEqual({
      merchantId,
      keyId: created.id,
      mode: 'test',
    });
    const first = await lastUsed();
    expect(first).toBeInstanceOf(Date);
    expect(Math.abs(first!.getTime() - Date.now())).toBeLessThan(60_000);
    // Within a minute, reading does not write again.
    await authenticateApiKey(db.sql, created.apiKey, 'test');
    expect((await lastUsed())!.getTime()).toBe(first!.getTime());
    // Older than a minute: recorded again.
    await db.sql`update api_keys set last_used_at = now() - interval '2 minutes' where id = ${created.id}`;
    const stale = await lastUsed();
    await authenticateApiKey(db.sql, created.apiKey, 'test');
    expect((await lastUsed())!.getTime()).toBeGreaterThan(stale!.getTime());
  });

  it('under concurrency a process records a stale last use once, not once per request', async () => {
    const created = await createApiKey(db.sql, merchantId, 'test');
    await db.sql`update api_keys set last_used_at = now() - interval '5 minutes' where id = ${created.id}`;
    const read = async (): Promise<ApiKeyRecord> => {
      const [row] = await db.sql<
        { keys: unknown[] }[]
      >`select ${apiKeysJson(db.sql, [keyHashHex(created.apiKey)])} as keys`;
      return apiKeyFromJson(row!.keys[0]);
    };
    const stale = await read();
    const { sql, statements } = recordingClient(db.url);
    try {
      const note = createKeyUseRecorder(sql);
      // Every request of a batch read the same stale value.
      await Promise.all(Array.from({ length: 20 }, () => note(stale)));
      const updates = () => statements.filter((q) => q.includes('update api_keys'));
      expect(updates()).toHaveLength(1);
      const fresh = await read();
      expect(Date.now() - new Date(fresh.lastUsedAt!).getTime()).toBeLessThan(60_000);
      await note(stale);
      await note(fresh);
      expect(updates()).toHaveLength(1);
      // A write that fails is tried again by the next request.
      const other = await createApiKey(db.sql, merchantId, 'test');
      const otherRecord = { ...stale, id: other.id };
      const failing = createKeyUseRecorder((() => Promise.reject(new Error('db down'))) as never);
      await expect(failing(otherRecord)).rejects.toThrow('db down');
      await expect(failing(otherRecord)).rejects.toThrow('db down');
    } finally {
      await sql.end({ timeout: 5 });
    }
  });

  it('the key made with the merchant works', async () => {
    expect((await authenticateApiKey(db.sql, firstKey, 'test')).merchantId).toBe(merchantId);
  });

  it.each([
    ['empty', ''],
    ['no prefix', 'abc'],
    ['wrong prefix', `pk_test_${'a'.repeat(44)}`],
    ['too short', 'sk_test_abc'],
    ['non-base58 (0, O, I, l)', `sk_test_${'0OIl'.repeat(11)}`],
    ['unknown mode', `sk_prod_${'a'.repeat(44)}`],
    ['trailing junk', `${generateApiKey('test')} x`],
  ])('malformed (%s) → api_key_malformed', async (_what, key) => {
    expect((await authError(key)).code).toBe('api_key_malformed');
  });

  it('an unknown well-formed key → api_key_invalid', async () => {
    expect((await authError(generateApiKey('test'))).code).toBe('api_key_invalid');
    // One character changed.
    const last = firstKey.at(-1) === 'a' ? 'b' : 'a';
    expect((await authError(`${firstKey.slice(0, -1)}${last}`)).code).toBe('api_key_invalid');
  });

  it('a key of the other mode → api_key_wrong_mode', async () => {
    const live = await createApiKey(db.sql, liveMerchantId, 'live');
    expect((await authError(live.apiKey, 'test')).code).toBe('api_key_wrong_mode');
    expect((await authenticateApiKey(db.sql, live.apiKey, 'live')).merchantId).toBe(liveMerchantId);
    expect((await authError(firstKey, 'live')).code).toBe('api_key_wrong_mode');
  });

  it('revoked → api_key_revoked; revoking is scoped and idempotent', async () => {
    const created = await createApiKey(db.sql, merchantId, 'test');
    await expect(revokeApiKey(db.sql, created.id, liveMerchantId)).rejects.toBeInstanceOf(NotFoundError);
    expect((await authenticateApiKey(db.sql, created.apiKey, 'test')).keyId).toBe(created.id);
    await revokeApiKey(db.sql, created.id, merchantId);
    const [r1] = await db.sql`select revoked_at from api_keys where id = ${created.id}`;
    expect(r1!.revoked_at).toBeInstanceOf(Date);
    expect((await authError(created.apiKey)).code).toBe('api_key_revoked');
    await revokeApiKey(db.sql, created.id);
    const [r2] = await db.sql`select revoked_at from api_keys where id = ${created.id}`;
    expect(r2!.revoked_at.getTime()).toBe(r1!.revoked_at.getTime());
    await expect(revokeApiKey(db.sql, 'key_unknown')).rejects.toMatchObject({ code: 'api_key_not_found' });
    // Other keys of the merchant keep working.
    expect((await authenticateApiKey(db.sql, firstKey, 'test')).merchantId).toBe(merchantId);
  });
});
