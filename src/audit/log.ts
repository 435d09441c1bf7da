// The audit log: append-only (a trigger refuses UPDATE/DELETE) and hash-chained, so a change to one
// entry leaves a break that `verifyAuditChain` names. The chain alone does NOT catch a superuser who
// bypasses the trigger and deletes the newest entries, or edits an entry and recomputes every later
// hash: the result is again a valid chain. Those are caught by the signed checkpoints of the head
// (checkpoints.ts), checked by `verifyAuditLog`.
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import type { Queryable, Tx } from '../db/client';

export const AUDIT_LOCK = 7_411_002;
export const GENESIS_HASH = '0'.repeat(64);

export interface AuditEntryInput {
  readonly actor: string;
  readonly action: string;
  readonly subject?: string | null;
  readonly data?: Record<string, unknown>;
}

export interface AuditEntry {
  readonly id: bigint;
  readonly at: string;
  readonly actor: string;
  readonly action: string;
  readonly subject: string | null;
  readonly data: unknown;
  readonly prevHash: string;
  readonly hash: string;
}

/** Canonical JSON: sorted keys, no whitespace, bigint as string — the same bytes on every run. */
export function canonicalJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'bigint') return JSON.stringify(value.toString());
  if (typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const obj = value as Record<string, unknown>;
  return `{${Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`)
    .join(',')}}`;
}

export function entryHash(e: Omit<AuditEntry, 'hash'>): string {
  const body = canonicalJson({
    id: e.id.toString(),
    at: e.at,
    actor: e.actor,
    action: e.action,
    subject: e.subject,
    data: e.data,
    prevHash: e.prevHash,
  });
  return bytesToHex(sha256(utf8ToBytes(body)));
}

/**
 * Appends an entry inside the caller's transaction. The advisory lock serialises writers only for
 * the rest of that transaction, which keeps the chain linear across processes.
 */
export async function appendAudit(tx: Tx, input: AuditEntryInput): Promise<AuditEntry> {
  await tx`select pg_advisory_xact_lock(${AUDIT_LOCK})`;
  const [last] = await tx<{ id: bigint; hash: string }[]>`
    select id, hash from audit_log order by id desc limit 1`;
  const id = (last?.id ?? 0n) + 1n;
  const prevHash = last?.hash ?? GENESIS_HASH;
  // Millisecond ISO time, kept as text in the hash so a timestamptz round trip cannot change it.
  const at = new Date().toISOString();
  const data = JSON.parse(canonicalJson(input.data ?? {}));
  const partial = {
    id,
    at,
    actor: input.actor,
    action: input.action,
    subject: input.subject ?? null,
    data,
    prevHash,
  };
  const hash = entryHash(partial);
  await tx`insert into audit_log (id, at, actor, action, subject, data, prev_hash, hash)
    values (${id.toString()}, ${at}, ${partial.actor}, ${partial.action}, ${partial.subject},
            ${tx.json(data)}, ${prevHash}, ${hash})`;
  return { ...partial, hash };
}

export interface AuditVerification {
  readonly ok: boolean;
  readonly entries: number;
  /** The first entry whose content or link does not match. */
  readonly brokenAt?: { id: string; reason: string };
  readonly headHash: string;
}

/** Re-computes the chain in pages; names the first entry that was changed, removed or re-linked. */
export async function verifyAuditChain(sql: Queryable, pageSize = 5000): Promise<AuditVerification> {
  let prevHash = GENESIS_HASH;
  let expectedId = 1n;
  let count = 0;
  for (;;) {
    const rows = await sql<
      {
        id: bigint;
        at: Date;
        actor: string;
        action: string;
        subject: string | null;
        data: unknown;
        prev_hash: string;
        hash: string;
      }[]
    >`select id, at, actor, action, subject, data, prev_hash, hash from audit_log
      where id >= ${expectedId.toString()} order by id limit ${pageSize}`;
    if (rows.length === 0) break;
    for (const r of rows) {
      const id = BigInt(r.id);
      if (id !== expectedId) {
        return {
          ok: false,
          entries: count,
          brokenAt: { id: expectedId.toString(), reason: 'entry missing' },
          headHash: prevHash,
        };
      }
      if (r.prev_hash !== prevHash) {
        return {
          ok: false,
          entries: count,
          brokenAt: { id: id.toString(), reason: 'link to the previous entry broken' },
          headHash: prevHash,
        };
      }
      const recomputed = entryHash({
        id,
        at: new Date(r.at).toISOString(),
        actor: r.actor,
        action: r.action,
        subject: r.subject,
        data: r.data,
        prevHash: r.prev_hash,
      });
      if (recomputed !== r.hash) {
        return {
          ok: false,
          entries: count,
          brokenAt: { id: id.toString(), reason: 'content changed' },
          headHash: prevHash,
        };
      }
      prevHash = r.hash;
      expectedId = id + 1n;
      count++;
    }
  }
  return { ok: true, entries: count, headHash: prevHash };
}
