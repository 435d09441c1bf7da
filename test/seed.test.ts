// The sandbox's first start: a demo merchant and a demo regulator, each created once, their secrets
// printed only by the start that made them, with the URLs to use them.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPasswordHasher } from '../src/auth/passwords';
import { signInWithPassword } from '../src/auth/signin';
import { authenticateRegulatorKey, createRegulator, regulatorAccounts } from '../src/regulator/accounts';
import { DEMO_REGULATOR_EMAIL, formatDemoSeed, seedDemo } from '../src/seed';
import { createSecretBox, generateEncryptionKey } from '../src/webhooks/secrets';
import { freshDatabase, type TestDatabase } from './helpers/db';

const URL_ = 'http://gateway.test';
const FAST = { scryptLogN: 10, regulatorScryptLogN: 10 };
const lockout = { attempts: 5, minutes: 15 };
const hasher = createPasswordHasher({ concurrency: 2, queue: 8 });

const counts = async (db: TestDatabase) => {
  const [r] = await db.sql<{ merchants: number; regulators: number }[]>`select
    (select count(*)::int from merchants) as merchants, (select count(*)::int from regulators) as regulators`;
  return r!;
};

describe('seedDemo', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await freshDatabase();
  });
  afterAll(() => db?.close());

  it('first start: a demo merchant and a demo regulator whose printed credentials work', async () => {
    const demo = await seedDemo(db.sql, 'test', FAST);
    expect(demo.merchant?.apiKey).toMatch(/^sk_test_/);
    const reg = demo.regulator!;
    expect(reg.email).toBe(DEMO_REGULATOR_EMAIL);
    expect(await counts(db)).toEqual({ merchants: 1, regulators: 1 });

    const ok = await signInWithPassword(db.sql, regulatorAccounts, {
      email: reg.email,
      password: reg.password,
      lockout,
      hasher,
      scryptLogN: 10,
    });
    expect(ok).toMatchObject({ ok: true, principal: { regulatorId: reg.regulatorId } });
    expect(
      await signInWithPassword(db.sql, regulatorAccounts, {
        email: reg.email,
        password: `${reg.password}x`,
        lockout,
        hasher,
        scryptLogN: 10,
      }),
    ).toMatchObject({
      ok: false,
    });
    expect(await authenticateRegulatorKey(db.sql, reg.apiKey)).toMatchObject({
      regulatorId: reg.regulatorId,
    });

    const banner = formatDemoSeed(demo, URL_);
    expect(banner).toContain(`${URL_}/dashboard`);
    expect(banner).toContain(`${URL_}/regulator  (${DEMO_REGULATOR_EMAIL} / ${reg.password})`);
    expect(banner).toContain(reg.apiKey);
    expect(banner).toContain(demo.merchant!.apiKey);

    const [audit] = await db.sql`select actor from audit_log where action = 'regulator.created'
      and subject = ${reg.regulatorId}`;
    expect(audit).toMatchObject({ actor: 'seed' });
  });

  it('a restart creates nothing and prints nothing', async () => {
    const before = await counts(db);
    const again = await seedDemo(db.sql, 'test', FAST);
    expect(again).toEqual({});
    expect(formatDemoSeed(again, URL_)).toBe('');
    expect(await counts(db)).toEqual(before);
  });
});

describe('seedDemo on a database seeded before the demo regulator existed', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await freshDatabase();
  });
  afterAll(() => db?.close());

  it('adds only the regulator, prints only its part, and then nothing', async () => {
    await db.sql`insert into settings (key, value) values ('demo_seeded', ${db.sql.json({ merchantId: 'mer_old' })})`;
    const demo = await seedDemo(db.sql, 'test', FAST);
    expect(demo.merchant).toBeUndefined();
    expect(demo.regulator?.email).toBe(DEMO_REGULATOR_EMAIL);
    expect(await counts(db)).toEqual({ merchants: 0, regulators: 1 });
    const banner = formatDemoSeed(demo, URL_);
    expect(banner).toContain(`${URL_}/regulator`);
    expect(banner).not.toContain('demo merchant');
    expect(await seedDemo(db.sql, 'test', FAST)).toEqual({});
  });
});

describe('seedDemo when the demo email is already taken', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await freshDatabase();
  });
  afterAll(() => db?.close());

  it('keeps the existing account, prints no password for it, and does not retry', async () => {
    const existing = await createRegulator(db.sql, {
      name: 'Operator',
      email: DEMO_REGULATOR_EMAIL.toUpperCase(),
      password: 'a long operator password',
      scryptLogN: 10,
    });
    const demo = await seedDemo(db.sql, 'test', FAST);
    expect(demo.merchant).toBeDefined();
    expect(demo.regulator).toBeUndefined();
    expect(formatDemoSeed(demo, URL_)).not.toContain('/regulator');
    const [r] = await db.sql`select id from regulators`;
    expect(r!.id).toBe(existing.regulator.id);
    expect(await seedDemo(db.sql, 'test', FAST)).toEqual({});
    expect(await counts(db)).toEqual({ merchants: 1, regulators: 1 });
  });
});

describe('seedDemo and the sandbox webhook receiver', () => {
  let db: TestDatabase;
  const box = createSecretBox(generateEncryptionKey());
  const hook = (port: number) => ({ url: `http://127.0.0.1:${port}/sandbox/webhooks`, secretBox: box });
  beforeAll(async () => {
    db = await freshDatabase();
  });
  afterAll(() => db?.close());

  it('a database seeded before the receiver existed gets the endpoint on its next start, once', async () => {
    await seedDemo(db.sql, 'test', FAST); // the earlier start: no webhook option then
    expect(await db.sql`select 1 from webhook_endpoints`).toHaveLength(0);
    await seedDemo(db.sql, 'test', { ...FAST, webhook: hook(8787) });
    await seedDemo(db.sql, 'test', { ...FAST, webhook: hook(8787) });
    const rows = await db.sql`select url from webhook_endpoints`;
    expect(rows.map((r) => r.url)).toEqual(['http://127.0.0.1:8787/sandbox/webhooks']);
  });

  it('follows the gateway to another port', async () => {
    await seedDemo(db.sql, 'test', { ...FAST, webhook: hook(9101) });
    const rows = await db.sql`select url from webhook_endpoints where deleted_at is null`;
    expect(rows.map((r) => r.url)).toEqual(['http://127.0.0.1:9101/sandbox/webhooks']);
  });

  it('leaves a demo merchant that has its own endpoint alone', async () => {
    const fresh = await freshDatabase();
    try {
      const demo = await seedDemo(fresh.sql, 'test', FAST);
      await fresh.sql`insert into webhook_endpoints (id, merchant_id, url, events, secret_ciphertext)
        values ('whk_01jbz0000000000000000000aa', ${demo.merchant!.merchantId}, 'https://shop.test/hooks', '{}', 'x')`;
      await seedDemo(fresh.sql, 'test', { ...FAST, webhook: hook(8787) });
      const rows = await fresh.sql`select url from webhook_endpoints`;
      expect(rows.map((r) => r.url)).toEqual(['https://shop.test/hooks']);
    } finally {
      await fresh.close();
    }
  });
});
