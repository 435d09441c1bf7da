// The attempt counter and lock of an email that has no account able to sign in. Such an email must
// answer exactly as a real account does (401 until the limit, then 423 until the lock runs out, the
// same messages, a hash checked or skipped at the same points), or the switch from 401 to 423 tells an
// attacker which emails are real. So it gets the same counter, in its own table (sign_in_unknown),
// updated by the same rules as accountStatements' countSet and lock in signin.ts.
import type { Queryable } from '../db/client';

/**
 * How an email is kept: a SHA-256 digest of exactly what the account lookup compares, the trimmed
 * email through the database's own lower(). JavaScript's toLowerCase differs from it ('İ' is 'i' to
 * PostgreSQL, 'i̇' to JavaScript): spellings that reach one real account's counter must reach one
 * unknown counter too, or mixing them tells the two apart.
 */
const digest = (q: Queryable, email: string) =>
  q`encode(sha256(convert_to(lower(${email.trim()}::text), 'UTF8')), 'hex')`;

/**
 * Counts one attempt (restarting after an expired lock or when the last attempt was before `idle`);
 * the count and any lock, as an account's.
 */
export async function countUnknownAttempt(
  q: Queryable,
  area: string,
  email: string,
  now: Date,
  idle: Date,
): Promise<{ attempts: number; lockedUntil: Date | null }> {
  const [row] = await q<{ failed_attempts: number; locked_until: Date | string | null }[]>`
    insert into sign_in_unknown (area, email_digest, failed_attempts, last_attempt_at)
    values (${area}, ${digest(q, email)}, 1, ${now})
    on conflict (area, email_digest) do update set
      failed_attempts = case when sign_in_unknown.locked_until <= ${now}
          or sign_in_unknown.last_attempt_at < ${idle} then 1
        else sign_in_unknown.failed_attempts + 1 end,
      locked_until = case when sign_in_unknown.locked_until <= ${now} then null
        else sign_in_unknown.locked_until end,
      last_attempt_at = ${now}
    returning failed_attempts, locked_until`;
  if (!row) throw new Error('sign_in_unknown: no row returned');
  return {
    attempts: row.failed_attempts,
    lockedUntil: row.locked_until ? new Date(row.locked_until) : null,
  };
}

/**
 * For a real account: the same second round trip the unknown path's upsert costs (a read here, as
 * the account's own UPDATE already wrote), so the number of statements does not tell them apart.
 */
export async function readUnknownAttempt(q: Queryable, area: string, email: string): Promise<void> {
  await q`select failed_attempts from sign_in_unknown
    where area = ${area} and email_digest = ${digest(q, email)}`;
}

/** Locks the email until `until` unless it already is, as accountStatements' lock does. */
export async function lockUnknown(
  q: Queryable,
  area: string,
  email: string,
  until: Date,
  now: Date,
): Promise<void> {
  await q`update sign_in_unknown set locked_until = ${until}, failed_attempts = 0
    where area = ${area} and email_digest = ${digest(q, email)}
      and (locked_until is null or locked_until <= ${now})`;
}

/** Rows deleted per sign-in attempt: more than one, so the table shrinks while attempts go on. */
export const PRUNE_BATCH = 100;

/**
 * Deletes up to PRUNE_BATCH of the area's counters that are over: no attempt since `idle` and no lock
 * running. Such a row answers as no row does (the next attempt counts 1 either way), so deleting it
 * changes no answer. Each attempt adds at most one row and may take away a hundred, so the table
 * stays near the number of emails tried within one lockout window. The conditions are repeated
 * outside the sub-select so a row an attempt has just counted again is left alone.
 */
export async function pruneUnknown(q: Queryable, area: string, now: Date, idle: Date): Promise<void> {
  const over = q`area = ${area} and last_attempt_at < ${idle}
    and (locked_until is null or locked_until <= ${now})`;
  await q`delete from sign_in_unknown where ${over} and ctid in (
    select ctid from sign_in_unknown where ${over} limit ${PRUNE_BATCH} for update skip locked)`;
}
