// The regulator API serves the audit checkpoints for regulators to keep, and its verification reports
// them: after a superuser deletes the newest entries, or rewrites one and recomputes the later hashes,
// the chain alone still links, but the signed checkpoints say otherwise. A regulator cannot forge one.
import { ed25519 } from '@noble/curves/ed25519.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  auditKeyFromSecret,
  checkpointMessage,
  createCheckpoint,
  signCheckpoint,
} from '../../src/audit/checkpoints';
import { appendAudit } from '../../src/audit/log';
import { runTick } from '../../src/watch/tick';
import { amlContext, newRegulator } from '../aml/support';
import { jsonRequest } from '../helpers/services';

const secret = bytesToHex(ed25519.utils.randomSecretKey());
const key = auditKeyFromSecret(secret);
let ctx: Awaited<ReturnType<typeof amlContext>>;
let keyA: string;

beforeAll(async () => {
  ctx = await amlContext({ AUDIT_SIGNING_KEY: secret, AUDIT_CHECKPOINT_INTERVAL_SECONDS: '3600' });
  keyA = (await newRegulator(ctx, 'Aigerim Sadykova', 'a.ckpt@afm.test')).apiKey.apiKey;
});
afterAll(() => ctx?.close());

const get = (k: string | undefined, path: string) => ctx.app.request(path, jsonRequest(k));

interface Served {
  algorithm: string;
  publicKey: string;
  checkpoints: { seq: number; headHash: string; signedAt: string; publicKey: string; signature: string }[];
}
interface Verified {
  ok: boolean;
  entries: number;
  checkpoints: {
    ok: boolean;
    checked: number;
    failures: { seq: number; problem: string }[];
    publicKey: string;
  };
}

describe('GET /v1/regulator/audit/checkpoints', () => {
  it('needs a regulator key, and serves what the tick signed with the public key', async () => {
    expect((await get(undefined, '/v1/regulator/audit/checkpoints')).status).toBe(401);
    expect((await get(ctx.apiKey, '/v1/regulator/audit/checkpoints')).status).toBe(403);

    await runTick(ctx.services);
    await runTick(ctx.services); // within the interval: no second checkpoint
    const res = await get(keyA, '/v1/regulator/audit/checkpoints');
    expect(res.status).toBe(200);
    const body = (await res.json()) as Served;
    expect(body.algorithm).toBe('Ed25519');
    expect(body.publicKey).toBe(key.publicKeyHex);
    expect(body.checkpoints).toHaveLength(1);
    const [c] = body.checkpoints;
    const [head] = await ctx.db.sql<{ id: string; hash: string }[]>`
      select id::text as id, hash from audit_log order by id desc limit 1`;
    expect(c).toMatchObject({ seq: Number(head!.id), headHash: head!.hash });
    // A regulator checks it with the public key alone.
    expect(
      ed25519.verify(
        Buffer.from(c!.signature, 'hex'),
        checkpointMessage(c!),
        Buffer.from(body.publicKey, 'hex'),
      ),
    ).toBe(true);
    expect((await get(keyA, '/v1/regulator/audit/checkpoints?limit=0')).status).toBe(422);
    expect((await get(keyA, '/v1/regulator/audit/checkpoints?after=abc')).status).toBe(422);
    const verified = (await (await get(keyA, '/v1/regulator/audit/verify')).json()) as Verified;
    expect(verified).toMatchObject({
      ok: true,
      checkpoints: { ok: true, checked: 1, publicKey: key.publicKeyHex },
    });
  });

  it('a regulator cannot make or forge one: no write route, and their own signature fails', async () => {
    const post = await ctx.app.request('/v1/regulator/audit/checkpoints', {
      ...jsonRequest(keyA, {}),
      method: 'POST',
    });
    expect([404, 405]).toContain(post.status);
    // Regulator A, with database access and a key of their own, signs a head of their choosing.
    const mine = auditKeyFromSecret(bytesToHex(ed25519.utils.randomSecretKey()));
    const [head] = await ctx.db.sql<{ id: string; hash: string }[]>`
      select id::text as id, hash from audit_log order by id desc limit 1`;
    const forged = signCheckpoint(mine, {
      seq: Number(head!.id),
      headHash: head!.hash,
      signedAt: new Date().toISOString(),
    });
    await ctx.db.sql`insert into audit_checkpoints (seq, head_hash, signed_at, public_key, signature)
      values (${forged.seq}, ${forged.headHash}, ${forged.signedAt}, ${key.publicKeyHex}, ${forged.signature})`;
    const v = (await (await get(keyA, '/v1/regulator/audit/verify')).json()) as Verified;
    expect(v.ok).toBe(false);
    expect(v.checkpoints.failures).toEqual([
      expect.objectContaining({ seq: forged.seq, problem: 'bad signature' }),
    ]);
    await ctx.db.sql.begin(async (tx) => {
      await tx`alter table audit_checkpoints disable trigger audit_checkpoints_no_update`;
      await tx`delete from audit_checkpoints where signature = ${forged.signature}`;
      await tx`alter table audit_checkpoints enable trigger audit_checkpoints_no_update`;
    });
  });

  it('verify reports a truncated chain that still links', async () => {
    await ctx.db.sql.begin((tx) => appendAudit(tx, { actor: 'test', action: 'test.more', data: {} }));
    await ctx.db.sql.begin((tx) => appendAudit(tx, { actor: 'test', action: 'test.more', data: {} }));
    const cp = (await createCheckpoint(ctx.db.sql, key))!.checkpoint;
    await ctx.db.sql.begin(async (tx) => {
      await tx`alter table audit_log disable trigger audit_log_no_update`;
      await tx`delete from audit_log where id >= ${cp.seq - 1}`;
      await tx`alter table audit_log enable trigger audit_log_no_update`;
    });
    const v = (await (await get(keyA, '/v1/regulator/audit/verify')).json()) as Verified;
    expect(v.ok).toBe(false);
    expect(v.entries).toBe(cp.seq - 2);
    expect(v.checkpoints.failures).toEqual([
      expect.objectContaining({ seq: cp.seq, problem: 'entry missing' }),
    ]);
  });
});
