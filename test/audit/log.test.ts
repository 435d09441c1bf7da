import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendAudit, canonicalJson, entryHash, GENESIS_HASH, verifyAuditChain } from '../../src/audit/log';
import { freshDatabase, type TestDatabase } from '../helpers/db';

let db: TestDatabase;
beforeAll(async () => {
  db = await freshDatabase();
});
afterAll(() => db.close());

interface Row {
  id: bigint;
  at: Date;
  actor: string;
  action: string;
  subject: string | null;
  data: unknown;
  prev_hash: string;
  hash: string;
}
const rows = () => db.sql<Row[]>`select * from audit_log order by id`;
const append = (action: string, data: Record<string, unknown> = {}) =>
  db.sql.begin((tx) => appendAudit(tx, { actor: 'test', action, subject: 'subj_1', data }));

/** Runs `fn` with the append-only trigger off, as a superuser could. */
async function asSuperuser(fn: () => Promise<unknown>): Promise<void> {
  await db.sql`alter table audit_log disable trigger audit_log_no_update`;
  try {
    await fn();
  } finally {
    await db.sql`alter table audit_log enable trigger audit_log_no_update`;
  }
}

describe('canonicalJson', () => {
  it('sorts keys at every depth, drops undefined, writes bigint as a string', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: undefined }, n: 5n })).toBe(
      '{"a":{"d":[3,{"y":2,"z":1}]},"b":1,"n":"5"}',
    );
    expect(canonicalJson({ x: 1, y: 2 })).toBe(canonicalJson({ y: 2, x: 1 }));
    expect(canonicalJson(null)).toBe('null');
    expect(canonicalJson('é"')).toBe('"é\\""');
  });
});

describe('the audit chain', () => {
  it('an empty log verifies', async () => {
    expect(await verifyAuditChain(db.sql)).toEqual({ ok: true, entries: 0, headHash: GENESIS_HASH });
  });

  it('appends linked entries that verify, across pages', async () => {
    const made = [];
    for (let i = 0; i < 5; i++) made.push(await append(`test.step_${i}`, { i, nested: { amount: 5n } }));
    expect(made.map((e) => e.id)).toEqual([1n, 2n, 3n, 4n, 5n]);
    expect(made[0]!.prevHash).toBe(GENESIS_HASH);
    for (let i = 1; i < made.length; i++) expect(made[i]!.prevHash).toBe(made[i - 1]!.hash);
    const stored = await rows();
    expect(stored.map((r) => r.hash)).toEqual(made.map((e) => e.hash));
    // The stored hash is the hash of the stored content.
    const r = stored[2]!;
    expect(
      entryHash({
        id: BigInt(r.id),
        at: new Date(r.at).toISOString(),
        actor: r.actor,
        action: r.action,
        subject: r.subject,
        data: r.data,
        prevHash: r.prev_hash,
      }),
    ).toBe(r.hash);
    for (const pageSize of [1, 2, 3, 5000]) {
      expect(await verifyAuditChain(db.sql, pageSize)).toEqual({
        ok: true,
        entries: 5,
        headHash: made[4]!.hash,
      });
    }
  });

  it('a rolled-back append leaves no gap', async () => {
    await expect(
      db.sql.begin(async (tx) => {
        await appendAudit(tx, { actor: 'test', action: 'test.rolled_back' });
        throw new Error('rollback');
      }),
    ).rejects.toThrow('rollback');
    const e = await append('test.after_rollback');
    expect(e.id).toBe(6n);
    expect((await verifyAuditChain(db.sql)).ok).toBe(true);
  });

  it('refuses UPDATE, DELETE and TRUNCATE', async () => {
    await expect(db.sql`update audit_log set actor = 'mallory' where id = 1`).rejects.toThrow(/append-only/);
    await expect(db.sql`delete from audit_log where id = 1`).rejects.toThrow(/append-only/);
    await expect(db.sql`delete from audit_log`).rejects.toThrow(/append-only/);
    await expect(db.sql`truncate audit_log`).rejects.toThrow(/append-only/);
    expect((await rows()).length).toBe(6);
    expect((await rows())[0]!.actor).toBe('test');
  });

  it('names the entry whose content a superuser changed, and verifies again once restored', async () => {
    const original = (await rows())[2]!;
    await asSuperuser(() => db.sql`update audit_log set data = ${db.sql.json({ i: 999 })} where id = 3`);
    expect(await verifyAuditChain(db.sql)).toMatchObject({
      ok: false,
      entries: 2,
      brokenAt: { id: '3', reason: 'content changed' },
    });
    await asSuperuser(
      () => db.sql`update audit_log set data = ${db.sql.json(original.data as never)} where id = 3`,
    );
    expect((await verifyAuditChain(db.sql)).ok).toBe(true);

    // Other columns: the actor, the time.
    await asSuperuser(() => db.sql`update audit_log set actor = 'someone else' where id = 2`);
    expect((await verifyAuditChain(db.sql)).brokenAt).toEqual({ id: '2', reason: 'content changed' });
    await asSuperuser(() => db.sql`update audit_log set actor = 'test' where id = 2`);
    await asSuperuser(() => db.sql`update audit_log set at = at + interval '1 second' where id = 4`);
    expect((await verifyAuditChain(db.sql)).brokenAt).toEqual({ id: '4', reason: 'content changed' });
    await asSuperuser(() => db.sql`update audit_log set at = at - interval '1 second' where id = 4`);
    expect((await verifyAuditChain(db.sql)).ok).toBe(true);
  });

  it('an entry re-hashed after a change breaks the link of the next one', async () => {
    const [r] = await db.sql<Row[]>`select * from audit_log where id = 3`;
    const data = { i: 12345 };
    const forged = entryHash({
      id: 3n,
      at: new Date(r!.at).toISOString(),
      actor: r!.actor,
      action: r!.action,
      subject: r!.subject,
      data,
      prevHash: r!.prev_hash,
    });
    await asSuperuser(
      () => db.sql`update audit_log set data = ${db.sql.json(data)}, hash = ${forged} where id = 3`,
    );
    expect((await verifyAuditChain(db.sql)).brokenAt).toEqual({
      id: '4',
      reason: 'link to the previous entry broken',
    });
    await asSuperuser(
      () =>
        db.sql`update audit_log set data = ${db.sql.json(r!.data as never)}, hash = ${r!.hash} where id = 3`,
    );
    expect((await verifyAuditChain(db.sql)).ok).toBe(true);
  });

  it('names a deleted middle entry as missing, and the last one as a shorter chain', async () => {
    const [r] = await db.sql<Row[]>`select * from audit_log where id = 4`;
    await asSuperuser(() => db.sql`delete from audit_log where id = 4`);
    for (const pageSize of [2, 5000]) {
      expect(await verifyAuditChain(db.sql, pageSize)).toMatchObject({
        ok: false,
        entries: 3,
        brokenAt: { id: '4', reason: 'entry missing' },
      });
    }
    await db.sql`insert into audit_log ${db.sql(r!)}`;
    expect((await verifyAuditChain(db.sql)).ok).toBe(true);
  });

  it('concurrent appends from several transactions stay one linear chain', async () => {
    const before = (await rows()).length;
    const writers = 8;
    const perWriter = 3;
    await Promise.all(
      Array.from({ length: writers }, (_, w) =>
        db.sql.begin(async (tx) => {
          for (let k = 0; k < perWriter; k++) {
            await appendAudit(tx, { actor: `writer_${w}`, action: 'test.concurrent', data: { w, k } });
            await tx`select pg_sleep(0)`;
          }
        }),
      ),
    );
    const all = await rows();
    expect(all).toHaveLength(before + writers * perWriter);
    expect(all.map((r) => Number(r.id))).toEqual(all.map((_, i) => i + 1));
    for (let i = 1; i < all.length; i++) expect(all[i]!.prev_hash).toBe(all[i - 1]!.hash);
    // Each transaction's entries are contiguous: the lock is held until it commits.
    const added = all.slice(before);
    for (let i = 0; i < added.length; i += perWriter) {
      const group = added.slice(i, i + perWriter);
      expect(new Set(group.map((g) => g.actor)).size).toBe(1);
      expect(group.map((g) => (g.data as { k: number }).k)).toEqual([0, 1, 2]);
    }
    expect(await verifyAuditChain(db.sql)).toMatchObject({
      ok: true,
      entries: all.length,
      headHash: all.at(-1)!.hash,
    });
  });
});
