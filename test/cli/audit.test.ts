// `audit verify` on its own database, because the last test tampers with the log.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ed25519 } from '@noble/curves/ed25519.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { entryHash } from '../../src/audit/log';
import { freshDatabase, type TestDatabase } from '../helpers/db';
import { BIP84_VPUB, cliRunner } from './helpers';

let db: TestDatabase;
let run: ReturnType<typeof cliRunner>;
let dataDir: string;

beforeAll(async () => {
  db = await freshDatabase();
  dataDir = mkdtempSync(join(tmpdir(), 'audit-cli-'));
  run = cliRunner({ DATABASE_URL: db.url, NETWORK_MODE: 'sandbox', LOG_LEVEL: 'silent', DATA_DIR: dataDir });
});
afterAll(async () => {
  await db?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe('audit checkpoint', () => {
  it('signs the head with the sandbox key from DATA_DIR and prints the public key', async () => {
    const r = await run(['merchant', 'create', '--name', 'Zero', '--xpub', `bitcoin-regtest=${BIP84_VPUB}`]);
    expect(r.code).toBe(0);
    const made = await run(['audit', 'checkpoint', '--json']);
    expect(made.code, made.stderr).toBe(0);
    const c = made.json<{ seq: number; publicKey: string; created: boolean }>();
    expect(c.created).toBe(true);
    expect(readFileSync(join(dataDir, 'audit-signing.key'), 'utf8').trim()).toMatch(/^[0-9a-f]{64}$/);
    const text = await run(['audit', 'checkpoint']);
    expect(text.stdout).toContain('Head unchanged since the newest checkpoint');
    expect(text.stdout).toContain(`Public key (Ed25519): ${c.publicKey}`);
    // Outside sandbox, without AUDIT_SIGNING_KEY: a usage error, not a silent no-op.
    const none = await run(['audit', 'checkpoint'], {
      NETWORK_MODE: 'testnet',
      WEBHOOK_ENCRYPTION_KEY: undefined,
    });
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('AUDIT_SIGNING_KEY');
  });
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
    // The checkpoint signed above covers an earlier head; later entries do not contradict it.
    expect(r.json()).toMatchObject({
      ok: true,
      entries: head!.n,
      headHash: head!.hash,
      checkpoints: { ok: true, checked: 1, failures: [] },
    });
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

  it('a rewritten entry with every later hash recomputed passes the chain but fails the checkpoints', async () => {
    // (Continues from the tampered log above: start over on a log the checkpoint covers.)
    await db.sql.begin(async (tx) => {
      await tx`alter table audit_log disable trigger audit_log_no_update`;
      await tx`alter table audit_checkpoints disable trigger audit_checkpoints_no_update`;
      await tx`delete from audit_log`;
      await tx`delete from audit_checkpoints`;
      await tx`alter table audit_log enable trigger audit_log_no_update`;
      await tx`alter table audit_checkpoints enable trigger audit_checkpoints_no_update`;
    });
    for (const name of ['Four', 'Five', 'Six']) {
      await run(['merchant', 'create', '--name', name, '--xpub', `bitcoin-regtest=${BIP84_VPUB}`]);
    }
    expect((await run(['audit', 'checkpoint'])).code).toBe(0);
    const served = await run(['audit', 'verify', '--json']);
    expect(served.code).toBe(0);
    const kept = join(dataDir, 'kept.json');
    const rows = await db.sql<
      { seq: string; head_hash: string; signed_at: string; public_key: string; signature: string }[]
    >`
      select seq, head_hash, signed_at, public_key, signature from audit_checkpoints`;
    writeFileSync(
      kept,
      JSON.stringify({
        checkpoints: rows.map((r) => ({
          seq: Number(r.seq),
          headHash: r.head_hash,
          signedAt: r.signed_at,
          publicKey: r.public_key,
          signature: r.signature,
        })),
      }),
    );

    await db.sql.begin(async (tx) => {
      await tx`alter table audit_log disable trigger audit_log_no_update`;
      await tx`alter table audit_checkpoints disable trigger audit_checkpoints_no_update`;
      const all = await tx<
        { id: string; at: Date; actor: string; action: string; subject: string | null; data: unknown }[]
      >`
        select id, at, actor, action, subject, data from audit_log order by id`;
      let prevHash = '0'.repeat(64);
      for (const r of all) {
        const data = r.id === all[0]!.id ? { name: 'Mallory' } : r.data;
        const hash = entryHash({
          id: BigInt(r.id),
          at: new Date(r.at).toISOString(),
          actor: r.actor,
          action: r.action,
          subject: r.subject,
          data,
          prevHash,
        });
        await tx`update audit_log set data = ${tx.json(data as never)}, prev_hash = ${prevHash}, hash = ${hash} where id = ${r.id}`;
        prevHash = hash;
      }
      await tx`alter table audit_log enable trigger audit_log_no_update`;
      await tx`alter table audit_checkpoints enable trigger audit_checkpoints_no_update`;
    });
    const r = await run(['audit', 'verify', '--json']);
    expect(r.code).toBe(1);
    expect(r.json()).toMatchObject({
      ok: false,
      checkpoints: { ok: false, failures: [{ problem: 'hash mismatch' }] },
    });
    expect((r.json() as { brokenAt?: unknown }).brokenAt).toBeUndefined(); // the links alone are fine
    const text = await run(['audit', 'verify']);
    expect(text.stdout).toContain('but checkpoints contradict it');

    // The superuser also deletes the checkpoints: the copy a regulator kept still catches it.
    await db.sql.begin(async (tx) => {
      await tx`alter table audit_checkpoints disable trigger audit_checkpoints_no_update`;
      await tx`delete from audit_checkpoints`;
      await tx`alter table audit_checkpoints enable trigger audit_checkpoints_no_update`;
    });
    expect((await run(['audit', 'verify'])).code).toBe(0);
    const withCopy = await run(['audit', 'verify', '--checkpoints', kept, '--json']);
    expect(withCopy.code).toBe(1);
    expect(withCopy.json()).toMatchObject({ checkpoints: { failures: [{ problem: 'hash mismatch' }] } });
    const bad = await run(['audit', 'verify', '--checkpoints', join(dataDir, 'missing.json')]);
    expect(bad.code).toBe(2);
  });
});

describe('audit key rotation', () => {
  it('after a rotation the earlier checkpoints verify only with the earlier key listed', async () => {
    // (Runs after the tampering above: the links hold, and no checkpoints are left.)
    const old = await run(['audit', 'checkpoint', '--json']); // the sandbox key in DATA_DIR
    expect(old.code, old.stderr).toBe(0);
    const oldKey = old.json<{ publicKey: string }>().publicKey;
    const newSecret = bytesToHex(ed25519.utils.randomSecretKey());
    const rotated = { AUDIT_SIGNING_KEY: newSecret };
    const made = await run(['audit', 'checkpoint', '--json'], rotated);
    expect(made.code, made.stderr).toBe(0);
    expect(made.json<{ publicKey: string; created: boolean }>()).toMatchObject({ created: true });
    expect(made.json<{ publicKey: string }>().publicKey).not.toBe(oldKey);

    const strict = await run(['audit', 'verify', '--json'], rotated);
    expect(strict.code).toBe(1);
    expect(strict.json()).toMatchObject({ checkpoints: { failures: [{ problem: 'untrusted key' }] } });

    const trusting = { ...rotated, AUDIT_TRUSTED_PUBLIC_KEYS: oldKey };
    const ok = await run(['audit', 'verify'], trusting);
    expect(ok.code, ok.stdout).toBe(0);
    expect(ok.stdout).toContain(`Earlier key ${oldKey} (AUDIT_TRUSTED_PUBLIC_KEYS): 1 signed.`);
    const bad = await run(['audit', 'verify'], { ...rotated, AUDIT_TRUSTED_PUBLIC_KEYS: 'nope' });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('AUDIT_TRUSTED_PUBLIC_KEYS');
  });
});
