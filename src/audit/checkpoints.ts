// Signed checkpoints of the audit chain's head (SPEC section 7). The hash chain shows an entry changed
// in place, but a superuser who deletes the newest entries, or edits one and recomputes every later
// hash, leaves a valid chain. A checkpoint signs (seq, head hash, time) with an Ed25519 key that lives
// outside the database (AUDIT_SIGNING_KEY; sandbox: DATA_DIR/audit-signing.key), so either change
// now contradicts a signature the attacker cannot make. Regulators fetch the checkpoints and keep
// them, so deleting checkpoint rows too is caught against their copies (`audit verify --checkpoints`).
//
// Trust: whoever holds the signing key can sign any head; keep it off the database host. The public
// key is printed by `audit checkpoint` and served with the checkpoints; a checker must take it from
// configuration (AUDIT_SIGNING_KEY or AUDIT_PUBLIC_KEY), never from the checkpoint under test.
//
// Rotation: each checkpoint names the key that signed it. Earlier keys an operator still trusts are
// listed in AUDIT_TRUSTED_PUBLIC_KEYS; a checkpoint naming any other key is refused ('untrusted key').
// A key's turn ends when the next key signs its first checkpoint: a later signature by the earlier
// key (someone who kept or stole it after the rotation) is refused too ('retired key').
import { ed25519 } from '@noble/curves/ed25519.js';
import { bytesToHex, hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { type Config, ConfigError } from '../config';
import type { Queryable, Sql } from '../db/client';
import { AUDIT_LOCK, GENESIS_HASH } from './log';
import { ed25519PublicKeyProblem } from './public-key';

export interface AuditCheckpoint {
  /** The audit_log id of the head when signed (0: the empty chain). */
  readonly seq: number;
  readonly headHash: string;
  /** Millisecond ISO time; part of the signed message. */
  readonly signedAt: string;
  /** Hex Ed25519 public key that signed it. */
  readonly publicKey: string;
  /** Hex Ed25519 signature over `checkpointMessage`. */
  readonly signature: string;
}

export interface AuditKey {
  /** 32-byte Ed25519 secret key; absent on a host that only verifies. */
  readonly secretKey?: Uint8Array;
  readonly publicKey: Uint8Array;
  readonly publicKeyHex: string;
  /** Earlier signing keys whose checkpoints are still trusted (AUDIT_TRUSTED_PUBLIC_KEYS). */
  readonly previous?: readonly AuditPublicKey[];
}

export interface AuditPublicKey {
  readonly publicKey: Uint8Array;
  readonly publicKeyHex: string;
}

const HEX64 = /^(0x)?[0-9a-fA-F]{64}$/;
const strip0x = (s: string) => (s.startsWith('0x') ? s.slice(2) : s);

/** Parses a hex secret key (AUDIT_SIGNING_KEY); throws on anything but 32 bytes of hex. */
export function auditKeyFromSecret(hex: string): AuditKey {
  if (!HEX64.test(hex.trim())) throw new Error('expected 64 hex digits (32 bytes)');
  const secretKey = hexToBytes(strip0x(hex.trim()));
  const publicKey = ed25519.getPublicKey(secretKey);
  return { secretKey, publicKey, publicKeyHex: bytesToHex(publicKey) };
}

/** A verify-only key from a hex public key (AUDIT_PUBLIC_KEY). */
export function auditKeyFromPublic(hex: string): AuditKey {
  const problem = ed25519PublicKeyProblem(hex);
  if (problem) throw new Error(problem);
  const publicKey = hexToBytes(strip0x(hex.trim()));
  return { publicKey, publicKeyHex: bytesToHex(publicKey) };
}

/** The earlier keys of AUDIT_TRUSTED_PUBLIC_KEYS (comma- or space-separated hex), the current one left out. */
export function parseTrustedKeys(list: string | undefined, current?: string): AuditPublicKey[] {
  const keys = new Map<string, AuditPublicKey>();
  for (const hex of (list ?? '').split(/[\s,]+/).filter(Boolean)) {
    const k = auditKeyFromPublic(hex);
    if (k.publicKeyHex !== current) keys.set(k.publicKeyHex, k);
  }
  return [...keys.values()];
}

/** The key from settings alone (no files): the secret if given, else the public key, else none. */
export function auditKeyFromConfig(
  config: Pick<Config, 'AUDIT_SIGNING_KEY' | 'AUDIT_PUBLIC_KEY'> &
    Partial<Pick<Config, 'AUDIT_TRUSTED_PUBLIC_KEYS'>>,
): AuditKey | undefined {
  let key: AuditKey | undefined;
  if (config.AUDIT_SIGNING_KEY) {
    key = auditKeyFromSecret(config.AUDIT_SIGNING_KEY);
    if (
      config.AUDIT_PUBLIC_KEY &&
      auditKeyFromPublic(config.AUDIT_PUBLIC_KEY).publicKeyHex !== key.publicKeyHex
    ) {
      throw new ConfigError(['AUDIT_PUBLIC_KEY: does not belong to AUDIT_SIGNING_KEY']);
    }
  } else if (config.AUDIT_PUBLIC_KEY) key = auditKeyFromPublic(config.AUDIT_PUBLIC_KEY);
  if (!key) return undefined;
  const previous = parseTrustedKeys(config.AUDIT_TRUSTED_PUBLIC_KEYS, key.publicKeyHex);
  return previous.length > 0 ? { ...key, previous } : key;
}

export function generateAuditSecret(): string {
  return bytesToHex(ed25519.utils.randomSecretKey());
}

/** The exact bytes signed: a domain tag, then seq, head hash and time, one per line. */
export function checkpointMessage(c: Pick<AuditCheckpoint, 'seq' | 'headHash' | 'signedAt'>): Uint8Array {
  return utf8ToBytes(`alatau-pay audit checkpoint v1\n${c.seq}\n${c.headHash}\n${c.signedAt}`);
}

export function signCheckpoint(
  key: AuditKey,
  head: Pick<AuditCheckpoint, 'seq' | 'headHash' | 'signedAt'>,
): AuditCheckpoint {
  if (!key.secretKey) throw new Error('the audit key is verify-only: AUDIT_SIGNING_KEY is not set');
  const signature = bytesToHex(ed25519.sign(checkpointMessage(head), key.secretKey));
  return { ...head, publicKey: key.publicKeyHex, signature };
}

/** True when `c` is signed by `key` (a configured one, never the key the checkpoint names). */
export function checkpointSignatureValid(key: AuditPublicKey, c: AuditCheckpoint): boolean {
  try {
    if (!/^[0-9a-f]{128}$/i.test(c.signature)) return false;
    // Strict RFC 8032 (canonical encodings, cofactorless): one signature per message and key.
    return ed25519.verify(hexToBytes(c.signature), checkpointMessage(c), key.publicKey, { zip215: false });
  } catch {
    return false;
  }
}

interface CheckpointRow {
  seq: string | bigint;
  head_hash: string;
  signed_at: string;
  public_key: string;
  signature: string;
}

const fromRow = (r: CheckpointRow): AuditCheckpoint => ({
  seq: Number(r.seq),
  headHash: r.head_hash,
  signedAt: r.signed_at,
  publicKey: r.public_key,
  signature: r.signature,
});

/** Checkpoints in the order they were made (oldest first), at most `limit` from `afterSeq` on. */
export async function listCheckpoints(
  q: Queryable,
  opts: { afterSeq?: number; limit?: number } = {},
): Promise<AuditCheckpoint[]> {
  const rows = await q<CheckpointRow[]>`select seq, head_hash, signed_at, public_key, signature
    from audit_checkpoints where seq >= ${opts.afterSeq ?? 0}
    order by id limit ${opts.limit ?? 1_000_000}`;
  return rows.map(fromRow);
}

/** The newest `limit` checkpoints, newest first (what the console shows). */
export async function newestCheckpoints(q: Queryable, limit: number): Promise<AuditCheckpoint[]> {
  const rows = await q<CheckpointRow[]>`select seq, head_hash, signed_at, public_key, signature
    from audit_checkpoints order by id desc limit ${limit}`;
  return rows.map(fromRow);
}

export interface CheckpointResult {
  readonly checkpoint: AuditCheckpoint;
  /** False when the head is unchanged since the newest checkpoint (`minIntervalMs` not needed then). */
  readonly created: boolean;
}

/**
 * Signs the current head into a new checkpoint, unless the newest one already covers this head or is
 * younger than `minIntervalMs` (the periodic tick). Holds the audit lock, so the head cannot move
 * while it is read; several processes calling at once make one checkpoint.
 */
export async function createCheckpoint(
  sql: Sql,
  key: AuditKey,
  opts: { now?: Date; minIntervalMs?: number } = {},
): Promise<CheckpointResult | undefined> {
  const now = opts.now ?? new Date();
  const minInterval = opts.minIntervalMs ?? 0;
  const youngEnough = (c: CheckpointRow | undefined) =>
    c !== undefined && now.getTime() - Date.parse(c.signed_at) < minInterval;
  const newest = (q: Queryable) =>
    q<CheckpointRow[]>`select seq, head_hash, signed_at, public_key, signature from audit_checkpoints
      order by id desc limit 1`.then((r) => r[0]);
  // A cheap look first: the tick runs every second, the lock is the one every audit write takes.
  if (minInterval > 0 && youngEnough(await newest(sql))) return undefined;
  return sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${AUDIT_LOCK})`;
    const last = await newest(tx);
    if (minInterval > 0 && youngEnough(last)) return undefined;
    const [head] = await tx<{ id: string | bigint; hash: string }[]>`
      select id, hash from audit_log order by id desc limit 1`;
    const seq = head ? Number(head.id) : 0;
    const headHash = head?.hash ?? GENESIS_HASH;
    if (
      last &&
      Number(last.seq) === seq &&
      last.head_hash === headHash &&
      last.public_key === key.publicKeyHex
    ) {
      return { checkpoint: fromRow(last), created: false };
    }
    const c = signCheckpoint(key, { seq, headHash, signedAt: now.toISOString() });
    await tx`insert into audit_checkpoints (seq, head_hash, signed_at, public_key, signature)
      values (${c.seq}, ${c.headHash}, ${c.signedAt}, ${c.publicKey}, ${c.signature})`;
    return { checkpoint: c, created: true };
  });
}

export type CheckpointProblem =
  /** Not signed by the key it names (a forged or altered checkpoint). */
  | 'bad signature'
  /** Names a key that is neither the configured one nor in AUDIT_TRUSTED_PUBLIC_KEYS. */
  | 'untrusted key'
  /** Signed by an earlier key after the next key had taken over (a retired key used again). */
  | 'retired key'
  /** The chain is shorter than the checkpoint: entries after it were deleted. */
  | 'entry missing'
  /** The entry at the checkpoint's seq has another hash: it or an earlier one was rewritten. */
  | 'hash mismatch';

export interface CheckpointFailure {
  readonly seq: number;
  readonly headHash: string;
  readonly signedAt: string;
  /** The key the checkpoint names ('' for a copy that names none). */
  readonly publicKey: string;
  readonly problem: CheckpointProblem;
}

/** A trusted key and how many checkpoints it validly signed. */
export interface CheckpointKeyUse {
  readonly publicKey: string;
  readonly current: boolean;
  readonly checkpoints: number;
}

export interface CheckpointVerification {
  readonly ok: boolean;
  /** Checkpoints checked (from the database and any copies given). */
  readonly checked: number;
  /** The newest valid checkpoint's seq (the chain must be at least this long). */
  readonly latestSeq?: number;
  readonly failures: readonly CheckpointFailure[];
  /** No key configured: checkpoints cannot be checked (not ok when there are any). */
  readonly keyMissing?: true;
  /** The trusted keys, current first, with the checkpoints each signed. */
  readonly keys?: readonly CheckpointKeyUse[];
}

/**
 * Checks the chain against each checkpoint: signed by `key`, and the entry at its seq present with
 * that hash. Together with `verifyAuditChain` (every link from genesis), a matching signed head
 * proves every entry up to it is the one that was signed.
 */
export async function verifyCheckpoints(
  q: Queryable,
  key: AuditKey | undefined,
  extra: readonly AuditCheckpoint[] = [],
): Promise<CheckpointVerification> {
  const fromDb = await listCheckpoints(q);
  const seen = new Set<string>();
  const all: AuditCheckpoint[] = [];
  for (const c of [...fromDb, ...extra]) {
    const k = `${c.seq}|${c.headHash}|${c.signedAt}|${c.publicKey}|${c.signature}`;
    if (!seen.has(k)) {
      seen.add(k);
      all.push(c);
    }
  }
  // Without a key nothing can be checked: fine only while there is nothing to check.
  if (!key) return { ok: all.length === 0, checked: 0, failures: [], keyMissing: true };
  const failures: CheckpointFailure[] = [];
  const fail = (c: AuditCheckpoint, problem: CheckpointProblem) =>
    failures.push({
      seq: c.seq,
      headHash: c.headHash,
      signedAt: c.signedAt,
      publicKey: c.publicKey,
      problem,
    });
  const trusted: AuditPublicKey[] = [key, ...(key.previous ?? [])];
  const byHex = new Map(trusted.map((k) => [k.publicKeyHex, k]));
  // Each checkpoint against the trusted key it names (a copy that names none: any trusted key).
  const signed: { c: AuditCheckpoint; by: string }[] = [];
  for (const c of all) {
    const named = c.publicKey.toLowerCase();
    const candidates = named ? [byHex.get(named)].filter((k) => k !== undefined) : trusted;
    if (candidates.length === 0) {
      fail(c, 'untrusted key');
      continue;
    }
    const by = candidates.find((k) => checkpointSignatureValid(k, c));
    if (by) signed.push({ c, by: by.publicKeyHex });
    else fail(c, 'bad signature');
  }
  // A key's turn ends when another key signs for the first time after its own first checkpoint.
  // The time is the signer's word: a kept key can backdate. The chain position is not: a head the
  // earlier key signs past its successor's first checkpoint is after its turn, whatever the date.
  const firstUse = new Map<string, { at: string; seq: number }>();
  for (const { c, by } of signed) {
    const seen = firstUse.get(by);
    if (seen === undefined || c.signedAt < seen.at) firstUse.set(by, { at: c.signedAt, seq: c.seq });
  }
  const valid = signed
    .filter(({ c, by }) => {
      // The configured key is the signer now, whatever came before (it may be an old one brought back).
      if (by === key.publicKeyHex) return true;
      const mine = firstUse.get(by)!.at;
      const succeeded = [...firstUse].some(
        ([k, next]) => k !== by && next.at > mine && (next.at <= c.signedAt || next.seq < c.seq),
      );
      if (succeeded) fail(c, 'retired key');
      return !succeeded;
    })
    .map(({ c, by }) => ({ ...c, by }));
  const keys: CheckpointKeyUse[] = trusted.map((k) => ({
    publicKey: k.publicKeyHex,
    current: k === key,
    checkpoints: valid.filter((c) => c.by === k.publicKeyHex).length,
  }));
  const seqs = [...new Set(valid.map((c) => c.seq).filter((s) => s > 0))];
  const hashes = new Map<number, string>();
  for (let i = 0; i < seqs.length; i += 10_000) {
    const page = seqs.slice(i, i + 10_000).map(String);
    const rows = await q<{ id: string | bigint; hash: string }[]>`
      select id, hash from audit_log where id = any(${page}::bigint[])`;
    for (const r of rows) hashes.set(Number(r.id), r.hash);
  }
  let latestSeq: number | undefined;
  for (const c of valid) {
    const actual = c.seq === 0 ? GENESIS_HASH : hashes.get(c.seq);
    if (actual === undefined) fail(c, 'entry missing');
    else if (actual !== c.headHash) fail(c, 'hash mismatch');
    latestSeq = Math.max(latestSeq ?? 0, c.seq);
  }
  failures.sort((a, b) => a.seq - b.seq);
  return {
    ok: failures.length === 0,
    checked: all.length,
    ...(latestSeq !== undefined ? { latestSeq } : {}),
    failures,
    keys,
  };
}

/** Parses checkpoints a regulator kept (the body of GET /v1/regulator/audit/checkpoints, or its array). */
export function parseCheckpointCopies(json: unknown): AuditCheckpoint[] {
  const list = Array.isArray(json) ? json : (json as { checkpoints?: unknown })?.checkpoints;
  if (!Array.isArray(list)) throw new Error('expected an array of checkpoints or { checkpoints: [...] }');
  return list.map((x, i) => {
    const c = x as Record<string, unknown>;
    const seq = typeof c['seq'] === 'string' ? Number(c['seq']) : c['seq'];
    const ok =
      typeof seq === 'number' &&
      Number.isSafeInteger(seq) &&
      seq >= 0 &&
      typeof c['headHash'] === 'string' &&
      typeof c['signedAt'] === 'string' &&
      typeof c['signature'] === 'string';
    if (!ok) throw new Error(`checkpoint ${i}: expected seq, headHash, signedAt and signature`);
    return {
      seq,
      headHash: c['headHash'] as string,
      signedAt: c['signedAt'] as string,
      publicKey: typeof c['publicKey'] === 'string' ? c['publicKey'] : '',
      signature: c['signature'] as string,
    };
  });
}
