// `audit verify` on its own database, because the last test tampers with the log.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db';
import { BIP84_VPUB, cliRunner } from './helpers';

let db: TestDatabase;
let run: ReturnType<typeof cliRunner>;

beforeAll(async () => {
  db = await freshDatabase();
  run = cliRunner({ DATABASE_URL: db.url, NETWORK_MODE: 'sandbox', LOG_LEVEL: 'silent' });
});
afterAll(async () => {
  await db?.close();
});

describe('audit verify', () => {
  it('an intact chain is exit 0 with the entry count and head hash', async () => {
    for (const name of ['One', 'Two', 'Three']) {
      const r = await run(['merchant', 'create', '--name', name, '--xpub', `bitcoin-regtest=${BIP84_VPUB}`]);
      expect(r.code).toBe(0);
    }
    const [head] =
      await db.sql`select count(*)::int as n, (select hash from audit_log order by id desc limit 1) as hash
      from audit_log`;
    const r = await run(['audit', 'verify', '--json']);
    expect(r.code).toBe(0);
    expect(r.json()).toEqual({ ok: true, entries: head!.n, headHash: head!.hash });
    expect(head!.n).toBeGreaterThanOrEqual(3);
    const text = await run(['audit', 'verify']);
    expect(text.stdout).toContain(`Audit log intact: ${head!.n} entries`);
  });

  it('a changed entry (trigger disabled, as a superuser could) is exit 1 naming the first broken entry', async () => {
    await db.sql.begin(async (tx) => {
      await tx`alter table audit_log disable trigger audit_log_no_update`;
      await tx`update audit_log set data = data || '{"name":"Mallory"}'::jsonb where id = 2`;
      await tx`alter table audit_log enable trigger audit_log_no_update`;
    });
    const r = await run(['audit', 'verify', '--json']);
    expect(r.code).toBe(1);
    expect(r.json()).toMatchObject({
      ok: false,
      entries: 1,
      brokenAt: { id: '2', reason: 'content changed' },
    });
    const text = await run(['audit', 'verify']);
    expect(text.code).toBe(1);
    expect(text.stdout).toContain('Audit log BROKEN at entry 2: content changed');
  });

  it('a removed entry is named as missing', async () => {
    await db.sql.begin(async (tx) => {
      await tx`alter table audit_log disable trigger audit_log_no_update`;
      await tx`delete from audit_log where id = 1`;
      await tx`alter table audit_log enable trigger audit_log_no_update`;
    });
    const r = await run(['audit', 'verify', '--json']);
    expect(r.code).toBe(1);
    expect(r.json()).toMatchObject({ ok: false, brokenAt: { id: '1', reason: 'entry missing' } });
  });
});
