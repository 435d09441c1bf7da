// Rotating the audit signing key (AUDIT_TRUSTED_PUBLIC_KEYS): checkpoints signed by an earlier key
// still verify when that key is listed, are refused when it is not, and an earlier key cannot sign
// again once the next key has taken over. Tampering is caught whichever key signed.
import { ed25519 } from '@noble/curves/ed25519.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AuditCheckpoint,
  auditKeyFromConfig,
  checkpointSignatureValid,
  createCheckpoint,
  listCheckpoints,
  signCheckpoint,
  verifyCheckpoints,
} from '../../src/audit/checkpoints';
import { appendAudit } from '../../src/audit/log';
import { ConfigError, loadConfig } from '../../src/config';
import { freshDatabase, type TestDatabase } from '../helpers/db';

let db: TestDatabase;
beforeAll(async () => {
  db = await freshDatabase();
});
afterAll(() => db.close());

const secret = () => bytesToHex(ed25519.utils.randomSecretKey());
const [oldSecret, newSecret] = [secret(), secret()];
const oldKey = auditKeyFromConfig({ AUDIT_SIGNING_KEY: oldSecret, AUDIT_PUBLIC_KEY: undefined })!;
const append = (n: number) =>
  db.sql.begin(async (tx) => {
    for (let i = 0; i < n; i++) await appendAudit(tx, { actor: 'test', action: 'test.step', data: { i } });
  });
const insert = (c: AuditCheckpoint) =>
  db.sql`insert into audit_checkpoints (seq, head_hash, signed_at, public_key, signature)
    values (${c.seq}, ${c.headHash}, ${c.signedAt}, ${c.publicKey}, ${c.signature})`;

describe('audit key rotation', () => {
  const t0 = Date.now();
  it('earlier checkpoints verify after a rotation when their key is listed, and only then', async () => {
    await append(3);
    await createCheckpoint(db.sql, oldKey, { now: new Date(t0) });
    await append(2);
    await createCheckpoint(db.sql, oldKey, { now: new Date(t0 + 1_000) });
    const kept = await listCheckpoints(db.sql); // a regulator's copies

    // Rotation: the new key signs from now on (it re-signs the same head at once).
    const rotatedOnly = auditKeyFromConfig({ AUDIT_SIGNING_KEY: newSecret, AUDIT_PUBLIC_KEY: undefined })!;
    const first = await createCheckpoint(db.sql, rotatedOnly, { now: new Date(t0 + 2_000) });
    expect(first).toMatchObject({
      created: true,
      checkpoint: { seq: 5, publicKey: rotatedOnly.publicKeyHex },
    });
    await append(1);
    await createCheckpoint(db.sql, rotatedOnly, { now: new Date(t0 + 3_000) });

    // Without the old key listed: its checkpoints are refused (what a rotation did before).
    const strict = await verifyCheckpoints(db.sql, rotatedOnly);
    expect(strict.ok).toBe(false);
    expect(strict.failures.map((f) => f.problem)).toEqual(['untrusted key', 'untrusted key']);

    // Listed: everything verifies, and the result says which key signed what.
    const rotated = auditKeyFromConfig({
      AUDIT_SIGNING_KEY: newSecret,
      AUDIT_PUBLIC_KEY: undefined,
      AUDIT_TRUSTED_PUBLIC_KEYS: ` ${oldKey.publicKeyHex.toUpperCase()}, `,
    })!;
    const v = await verifyCheckpoints(db.sql, rotated);
    expect(v).toMatchObject({ ok: true, checked: 4, latestSeq: 6, failures: [] });
    expect(v.keys).toEqual([
      { publicKey: rotated.publicKeyHex, current: true, checkpoints: 2 },
      { publicKey: oldKey.publicKeyHex, current: false, checkpoints: 2 },
    ]);
    // A verify-only host: the public keys alone.
    const verifyOnly = auditKeyFromConfig({
      AUDIT_SIGNING_KEY: undefined,
      AUDIT_PUBLIC_KEY: rotated.publicKeyHex,
      AUDIT_TRUSTED_PUBLIC_KEYS: oldKey.publicKeyHex,
    })!;
    expect((await verifyCheckpoints(db.sql, verifyOnly)).ok).toBe(true);
    // Copies that name no key are checked against every trusted key.
    const anonymous = kept.map((c) => ({ ...c, publicKey: '' }));
    expect((await verifyCheckpoints(db.sql, rotated, anonymous)).ok).toBe(true);
    expect((await verifyCheckpoints(db.sql, rotatedOnly, anonymous)).failures).toHaveLength(4);
  });

  it('an earlier key signing after the rotation is refused as retired, even for a true head', async () => {
    const rotated = auditKeyFromConfig({
      AUDIT_SIGNING_KEY: newSecret,
      AUDIT_PUBLIC_KEY: undefined,
      AUDIT_TRUSTED_PUBLIC_KEYS: oldKey.publicKeyHex,
    })!;
    const [head] = await db.sql<{ id: string; hash: string }[]>`
      select id, hash from audit_log order by id desc limit 1`;
    // Whoever kept the old secret signs the current head after the new key took over.
    const late = signCheckpoint(oldKey, {
      seq: Number(head!.id),
      headHash: head!.hash,
      signedAt: new Date(t0 + 10_000).toISOString(),
    });
    await insert(late);
    const v = await verifyCheckpoints(db.sql, rotated);
    expect(v.ok).toBe(false);
    expect(v.failures).toEqual([
      {
        seq: late.seq,
        headHash: late.headHash,
        signedAt: late.signedAt,
        publicKey: oldKey.publicKeyHex,
        problem: 'retired key',
      },
    ]);
  });

  it('a kept earlier key cannot backdate its way past the rotation: a later head it signs is retired', async () => {
    const rotated = auditKeyFromConfig({
      AUDIT_SIGNING_KEY: newSecret,
      AUDIT_PUBLIC_KEY: undefined,
      AUDIT_TRUSTED_PUBLIC_KEYS: oldKey.publicKeyHex,
    })!;
    await append(2);
    const [head] = await db.sql<{ id: string; hash: string }[]>`
      select id, hash from audit_log order by id desc limit 1`;
    // Dated between the old key's last checkpoint and the new key's first: the time alone says "its turn".
    const backdated = signCheckpoint(oldKey, {
      seq: Number(head!.id),
      headHash: head!.hash,
      signedAt: new Date(t0 + 1_500).toISOString(),
    });
    await insert(backdated);
    const v = await verifyCheckpoints(db.sql, rotated);
    expect(v.ok).toBe(false);
    expect(v.failures).toContainEqual(
      expect.objectContaining({ seq: backdated.seq, problem: 'retired key' }),
    );
    expect(v.latestSeq).toBeLessThan(backdated.seq);
  });

  it('a rewrite is still caught on the earlier key’s checkpoints', async () => {
    const rotated = auditKeyFromConfig({
      AUDIT_SIGNING_KEY: newSecret,
      AUDIT_PUBLIC_KEY: undefined,
      AUDIT_TRUSTED_PUBLIC_KEYS: oldKey.publicKeyHex,
    })!;
    // A checkpoint by the old key naming a head it never signed: the signature does not match.
    const [cp] = await listCheckpoints(db.sql, { limit: 1 });
    await insert({ ...cp!, headHash: 'f'.repeat(64) });
    const v = await verifyCheckpoints(db.sql, rotated);
    expect(v.failures.map((f) => f.problem)).toContain('bad signature');
  });

  it('a small-order "key" is refused, and its made-up signature would not verify anyway', () => {
    // The identity point: under the cofactored (ZIP 215) check, R = identity and S = 0 signs anything.
    const identity = `01${'00'.repeat(31)}`;
    const base = { NETWORK_MODE: 'sandbox' };
    expect(() => loadConfig({ ...base, AUDIT_TRUSTED_PUBLIC_KEYS: identity })).toThrow(
      /AUDIT_TRUSTED_PUBLIC_KEYS/,
    );
    expect(() => loadConfig({ ...base, AUDIT_PUBLIC_KEY: identity })).toThrow(/AUDIT_PUBLIC_KEY/);
    expect(() =>
      auditKeyFromConfig({
        AUDIT_SIGNING_KEY: newSecret,
        AUDIT_PUBLIC_KEY: undefined,
        AUDIT_TRUSTED_PUBLIC_KEYS: identity,
      }),
    ).toThrow(/small-order/);
    const forged: AuditCheckpoint = {
      seq: 1,
      headHash: 'a'.repeat(64),
      signedAt: new Date(t0).toISOString(),
      publicKey: identity,
      signature: `01${'00'.repeat(63)}`,
    };
    const publicKey = new Uint8Array(32);
    publicKey[0] = 1;
    expect(checkpointSignatureValid({ publicKey, publicKeyHex: identity }, forged)).toBe(false);
  });

  it('AUDIT_TRUSTED_PUBLIC_KEYS must be hex Ed25519 public keys', () => {
    const base = { NETWORK_MODE: 'sandbox' };
    expect(() => loadConfig({ ...base, AUDIT_TRUSTED_PUBLIC_KEYS: 'not-a-key' })).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, AUDIT_TRUSTED_PUBLIC_KEYS: 'not-a-key' })).toThrow(
      /AUDIT_TRUSTED_PUBLIC_KEYS/,
    );
    const ok = loadConfig({
      ...base,
      AUDIT_TRUSTED_PUBLIC_KEYS: `${oldKey.publicKeyHex},${bytesToHex(ed25519.getPublicKey(ed25519.utils.randomSecretKey()))}`,
    });
    expect(ok.AUDIT_TRUSTED_PUBLIC_KEYS).toContain(oldKey.publicKeyHex);
  });
});
