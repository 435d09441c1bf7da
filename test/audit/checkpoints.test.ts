// Signed checkpoints catch what the hash chain alone cannot: a superuser deleting the newest entries,
// or rewriting one and recomputing every later hash. Without checkpoints both verify as intact.
import { ed25519 } from '@noble/curves/ed25519.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  auditKeyFromPublic,
  auditKeyFromSecret,
  checkpointMessage,
  createCheckpoint,
  listCheckpoints,
  signCheckpoint,
  verifyCheckpoints,
} from '../../src/audit/checkpoints';
import { appendAudit, entryHash, verifyAuditChain } from '../../src/audit/log';
import { freshDatabase, type TestDatabase } from '../helpers/db';

let db: TestDatabase;
beforeAll(async () => {
  db = await freshDatabase();
});
afterAll(() => db.close());

const key = auditKeyFromSecret(bytesToHex(ed25519.utils.randomSecretKey()));
const append = (n: number) =>
  db.sql.begin(async (tx) => {
    for (let i = 0; i < n; i++) await appendAudit(tx, { actor: 'test', action: `test.step`, data: { i } });
  });

/** Runs `fn` with the append-only triggers off, as a superuser could. */
async function asSuperuser(fn: (tx: TestDatabase['sql']) => Promise<unknown>): Promise<void> {
  await db.sql.begin(async (tx) => {
    await tx`alter table audit_log disable trigger audit_log_no_update`;
    await tx`alter table audit_checkpoints disable trigger audit_checkpoints_no_update`;
    await fn(tx as unknown as TestDatabase['sql']);
    await tx`alter table audit_log enable trigger audit_log_no_update`;
    await tx`alter table audit_checkpoints enable trigger audit_checkpoints_no_update`;
  });
}

/** Rewrites entry `id` and recomputes every later hash, so the chain itself verifies again. */
async function rewriteFrom(id: number, data: Record<string, unknown>) {
  await asSuperuser(async (tx) => {
    const rows = await tx<
      { id: string; at: Date; actor: string; action: string; subject: string | null; data: unknown }[]
    >`select id, at, actor, action, subject, data from audit_log where id >= ${id} order by id`;
    const [prev] = await tx<{ hash: string }[]>`select hash from audit_log where id = ${id - 1}`;
    let prevHash = prev?.hash ?? '0'.repeat(64);
    for (const r of rows) {
      const d = Number(r.id) === id ? data : r.data;
      const hash = entryHash({
        id: BigInt(r.id),
        at: new Date(r.at).toISOString(),
        actor: r.actor,
        action: r.action,
        subject: r.subject,
        data: d,
        prevHash,
      });
      await tx`update audit_log set data = ${tx.json(d as never)}, prev_hash = ${prevHash}, hash = ${hash}
        where id = ${r.id}`;
      prevHash = hash;
    }
  });
}

describe('audit checkpoints', () => {
  it('sign the head once per head, and verify while nothing changed', async () => {
    const empty = await createCheckpoint(db.sql, key);
    expect(empty).toMatchObject({ created: true, checkpoint: { seq: 0 } });
    await append(5);
    const first = await createCheckpoint(db.sql, key);
    expect(first).toMatchObject({ created: true, checkpoint: { seq: 5, publicKey: key.publicKeyHex } });
    expect((await createCheckpoint(db.sql, key))?.created).toBe(false); // head unchanged
    // The tick's interval: a young checkpoint means no new one even after new entries.
    await append(1);
    expect(await createCheckpoint(db.sql, key, { minIntervalMs: 60_000 })).toBeUndefined();
    const later = new Date(Date.now() + 61_000);
    expect(await createCheckpoint(db.sql, key, { minIntervalMs: 60_000, now: later })).toMatchObject({
      created: true,
      checkpoint: { seq: 6 },
    });
    const all = await listCheckpoints(db.sql);
    expect(all.map((c) => c.seq)).toEqual([0, 5, 6]);
    // The signature is a plain Ed25519 signature over the documented message.
    expect(
      ed25519.verify(Buffer.from(all[1]!.signature, 'hex'), checkpointMessage(all[1]!), key.publicKey),
    ).toBe(true);
    expect(await verifyCheckpoints(db.sql, key)).toEqual({
      ok: true,
      checked: 3,
      latestSeq: 6,
      failures: [],
      keys: [{ publicKey: key.publicKeyHex, current: true, checkpoints: 3 }],
    });
    // A verify-only host (public key alone) reaches the same answer.
    expect((await verifyCheckpoints(db.sql, auditKeyFromPublic(key.publicKeyHex))).ok).toBe(true);
    // The tables refuse UPDATE, DELETE and TRUNCATE.
    await expect(db.sql`delete from audit_checkpoints`).rejects.toThrow(/append-only/);
    await expect(db.sql`truncate audit_checkpoints`).rejects.toThrow(/append-only/);
  });

  it('catch a rewritten entry whose later hashes were all recomputed', async () => {
    await rewriteFrom(3, { i: 2, note: 'rewritten' });
    // The chain alone says intact: this is what a superuser could always do.
    expect((await verifyAuditChain(db.sql)).ok).toBe(true);
    const v = await verifyCheckpoints(db.sql, key);
    expect(v.ok).toBe(false);
    expect(v.failures.map((f) => [f.seq, f.problem])).toEqual([
      [5, 'hash mismatch'],
      [6, 'hash mismatch'],
    ]);
  });
});

describe('audit checkpoints against truncation', () => {
  it('catch the newest entries deleted, even with the checkpoints after them deleted too', async () => {
    await append(4);
    const cp = (await createCheckpoint(db.sql, key))!.checkpoint;
    expect(cp.seq).toBeGreaterThanOrEqual(4);
    const kept = await listCheckpoints(db.sql); // a regulator's copy
    await asSuperuser(async (tx) => {
      await tx`delete from audit_log where id > ${cp.seq - 2}`;
    });
    expect((await verifyAuditChain(db.sql)).ok).toBe(true); // a shorter chain still links
    const v = await verifyCheckpoints(db.sql, key);
    expect(v.ok).toBe(false);
    expect(v.failures).toContainEqual(expect.objectContaining({ seq: cp.seq, problem: 'entry missing' }));

    // The superuser also deletes the checkpoint: the regulator's kept copy still catches it.
    await asSuperuser(async (tx) => {
      await tx`delete from audit_checkpoints where seq > ${cp.seq - 2}`;
    });
    expect((await verifyCheckpoints(db.sql, key)).failures.some((f) => f.seq === cp.seq)).toBe(false);
    const withCopies = await verifyCheckpoints(db.sql, key, kept);
    expect(withCopies.ok).toBe(false);
    expect(withCopies.failures).toContainEqual(
      expect.objectContaining({ seq: cp.seq, problem: 'entry missing' }),
    );
  });

  it('refuse a checkpoint not signed by the configured key (forged or altered)', async () => {
    const [head] = await db.sql<
      { id: string; hash: string }[]
    >`select id, hash from audit_log order by id desc limit 1`;
    // Someone with database access but another key signs a head of their choosing.
    const other = auditKeyFromSecret(bytesToHex(ed25519.utils.randomSecretKey()));
    const forged = signCheckpoint(other, {
      seq: Number(head!.id),
      headHash: head!.hash,
      signedAt: new Date().toISOString(),
    });
    // And a genuine checkpoint with its seq moved back (signature no longer matches the message).
    const real = signCheckpoint(key, {
      seq: Number(head!.id),
      headHash: head!.hash,
      signedAt: new Date().toISOString(),
    });
    const altered = { ...real, seq: real.seq - 1 };
    for (const c of [forged, { ...forged, publicKey: key.publicKeyHex }, altered]) {
      await db.sql`insert into audit_checkpoints (seq, head_hash, signed_at, public_key, signature)
        values (${c.seq}, ${c.headHash}, ${c.signedAt}, ${c.publicKey}, ${c.signature})`;
    }
    const v = await verifyCheckpoints(db.sql, key);
    expect(v.ok).toBe(false);
    // Naming its own key does not help: that key is not trusted. Naming ours, the signature fails.
    expect(v.failures.filter((f) => f.problem === 'untrusted key')).toHaveLength(1);
    expect(v.failures.filter((f) => f.problem === 'bad signature')).toHaveLength(2);
    // Garbage signatures are a failure, never an exception.
    const junk = await verifyCheckpoints(db.sql, key, [{ ...real, signature: 'zz' }]);
    expect(junk.failures.filter((f) => f.problem === 'bad signature')).toHaveLength(3);
  });
});
