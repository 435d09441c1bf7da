// Password sign-in for every kind of account (dashboard users, regulators): one flow, so the checks
// that guard it are written once.
//
// Order matters. The attempt is counted before the password is checked, in the same statement that
// finds the account (one UPDATE … RETURNING): parallel guesses each get their own number, and those
// past the limit are refused unchecked, so no more than the limit are ever verified and a right
// password sent after them cannot slip in and clear the lock. An unknown email pays the same scrypt
// cost as a real account (PasswordHasher.verifyUnknown at the configured cost), and has the same
// counter and lock (unknown.ts), so neither its answers nor its timing say whether it exists. The checks run in
// the bounded hasher; when it is full the sign-in is refused with HashingBusyError (503).
//
// A second factor (SPEC section 12, TOTP) slots in between `signInWithPassword` answering ok and the
// caller creating a session: the principal says who and with what role.
import { appendAudit } from '../audit/log';
import type { Queryable, Sql, Tx } from '../db/client';
import { type PasswordHasher, storedLogN } from './passwords';
import { countUnknownAttempt, lockUnknown, pruneUnknown, readUnknownAttempt } from './unknown';

export interface LockoutPolicy {
  readonly attempts: number;
  /** How long a lock lasts, and how long a failed-attempt count lasts with no attempt. */
  readonly minutes: number;
}

/**
 * The time before which a last failed attempt no longer counts: a counter idle for longer than the
 * lockout window starts again from zero (then a slow guesser gets the limit per window, as a locked
 * one does). The same rule for accounts and unknown emails, or "4 wrong, wait, 1 wrong" would lock
 * only one of them and tell them apart.
 */
export const idleSince = (lockout: LockoutPolicy, now: Date): Date =>
  new Date(now.getTime() - lockout.minutes * 60_000);

/** An account found for a sign-in, with this attempt already counted. */
export interface CountedAccount<P> {
  readonly id: string;
  readonly passwordHash: string;
  /** Attempts since the last success or lock, this one included. */
  readonly attempts: number;
  readonly lockedUntil: Date | null;
  readonly principal: P;
}

/** What the flow needs from a kind of account: three statements and the names for the audit log. */
export interface PasswordAccounts<P> {
  /** The audit actions' prefix (`dashboard_user` → `dashboard_user.signed_in`) and actor prefix. */
  readonly auditKind: string;
  readonly actorPrefix: string;
  /**
   * One statement: the enabled account with a password for this email, its attempt counter raised
   * by one (restarted when an old lock has run out or the last attempt was before `idle`; see
   * accountStatements' countSet). Undefined when there is none.
   */
  countAttempt(q: Queryable, email: string, now: Date, idle: Date): Promise<CountedAccount<P> | undefined>;
  /** Locks the account until `until` unless it already is; true when this call locked it. */
  lock(q: Queryable, id: string, until: Date, now: Date): Promise<boolean>;
  /** Clears the counter and any lock after a right password. */
  succeeded(q: Queryable, id: string, now: Date): Promise<void>;
  /** Replaces the stored hash (an upgrade to the configured cost). */
  setPasswordHash(q: Queryable, id: string, passwordHash: string): Promise<void>;
}

export type SignInResult<P> =
  | { readonly ok: true; readonly principal: P }
  | { readonly ok: false; readonly reason: 'invalid' }
  | { readonly ok: false; readonly reason: 'locked'; readonly until: Date };

export interface PasswordSignIn {
  readonly email: string;
  readonly password: string;
  readonly lockout: LockoutPolicy;
  readonly hasher: PasswordHasher;
  /** The configured scrypt cost (log2 N): what an unknown email pays. */
  readonly scryptLogN: number;
  readonly now?: Date;
}

export async function signInWithPassword<P>(
  sql: Sql,
  accounts: PasswordAccounts<P>,
  input: PasswordSignIn,
): Promise<SignInResult<P>> {
  const now = input.now ?? new Date();
  const email = input.email.trim();
  const idle = idleSince(input.lockout, now);
  const account = await accounts.countAttempt(sql, email, now, idle);
  // An email with no account is counted and locked the same way (unknown.ts): its answers, and
  // where a hash is or is not checked, are those of a real account with a wrong password.
  let counted: Pick<CountedAccount<P>, 'attempts' | 'lockedUntil'>;
  if (account) {
    counted = account;
    await readUnknownAttempt(sql, accounts.auditKind, email);
  } else counted = await countUnknownAttempt(sql, accounts.auditKind, email, now, idle);
  // Every attempt, real or unknown, clears a few unknown counters that are over, so the table holds
  // about the emails tried within one window.
  await pruneUnknown(sql, accounts.auditKind, now, idle);
  const lockNow = () =>
    account
      ? lock(sql, accounts, account.id, input.lockout, now)
      : lockUnknownEmail(sql, accounts.auditKind, email, input.lockout, now);
  if (counted.lockedUntil && counted.lockedUntil.getTime() > now.getTime()) {
    return { ok: false, reason: 'locked', until: counted.lockedUntil };
  }
  // Beyond the limit: refused without looking at the password.
  if (counted.attempts > input.lockout.attempts) return lockNow();
  const right = account
    ? await input.hasher.verify(input.password, account.passwordHash)
    : await input.hasher.verifyUnknown(input.password, input.scryptLogN);
  if (right && account) {
    await sql.begin(async (tx: Tx) => {
      await accounts.succeeded(tx, account.id, now);
      await appendAudit(tx, {
        actor: `${accounts.actorPrefix}:${account.id}`,
        action: `${accounts.auditKind}.signed_in`,
        subject: account.id,
      });
    });
    await upgradeCost(sql, accounts, account, input);
    return { ok: true, principal: account.principal };
  }
  if (counted.attempts >= input.lockout.attempts) return lockNow();
  return { ok: false, reason: 'invalid' };
}

async function lockUnknownEmail(
  sql: Sql,
  area: string,
  email: string,
  lockout: LockoutPolicy,
  now: Date,
): Promise<{ ok: false; reason: 'locked'; until: Date }> {
  const until = new Date(now.getTime() + lockout.minutes * 60_000);
  await lockUnknown(sql, area, email, until, now);
  return { ok: false, reason: 'locked', until };
}

/**
 * A hash made at another cost than the configured one is remade at the configured cost while the
 * password is at hand, so a real account's check costs what an unknown email's does. Best effort:
 * a busy hasher or a failure leaves the old hash, and the sign-in stands.
 */
async function upgradeCost<P>(
  sql: Sql,
  accounts: PasswordAccounts<P>,
  account: CountedAccount<P>,
  input: PasswordSignIn,
): Promise<void> {
  if (storedLogN(account.passwordHash) === input.scryptLogN) return;
  try {
    await accounts.setPasswordHash(
      sql,
      account.id,
      await input.hasher.hash(input.password, input.scryptLogN),
    );
  } catch {
    // Next sign-in tries again.
  }
}

async function lock<P>(
  sql: Sql,
  accounts: PasswordAccounts<P>,
  id: string,
  lockout: LockoutPolicy,
  now: Date,
): Promise<SignInResult<P>> {
  const until = new Date(now.getTime() + lockout.minutes * 60_000);
  await sql.begin(async (tx: Tx) => {
    // Of parallel attempts past the limit, the one that sets the lock writes the audit entry.
    if (!(await accounts.lock(tx, id, until, now))) return;
    await appendAudit(tx, {
      actor: 'system',
      action: `${accounts.auditKind}.locked`,
      subject: id,
      data: { attempts: lockout.attempts, until: until.toISOString() },
    });
  });
  return { ok: false, reason: 'locked', until };
}

/**
 * The three statements for a table with `email`, `password_hash`, `failed_attempts`, `locked_until`
 * and `disabled_at` (merchant_users, regulators). `select` adds the principal's columns.
 */
export function accountStatements(table: 'merchant_users' | 'regulators', extraOnSuccess = false) {
  return {
    async lock(q: Queryable, id: string, until: Date, now: Date): Promise<boolean> {
      const rows = await q`update ${q(table)} set locked_until = ${until}, failed_attempts = 0
        where id = ${id} and (locked_until is null or locked_until <= ${now}) returning id`;
      return rows.length > 0;
    },
    async succeeded(q: Queryable, id: string, now: Date): Promise<void> {
      const last = extraOnSuccess ? q`, last_sign_in_at = ${now}` : q``;
      await q`update ${q(table)} set failed_attempts = 0, locked_until = null ${last} where id = ${id}`;
    },
    async setPasswordHash(q: Queryable, id: string, passwordHash: string): Promise<void> {
      await q`update ${q(table)} set password_hash = ${passwordHash} where id = ${id}`;
    },
    /** The counted account of a row the count's RETURNING gave (with id, password_hash, …). */
    // biome-ignore lint/suspicious/noExplicitAny: a raw row from postgres.js
    counted: <P>(row: Record<string, any>, principal: P): CountedAccount<P> => ({
      id: row.id,
      passwordHash: row.password_hash,
      attempts: row.failed_attempts,
      lockedUntil: row.locked_until ? new Date(row.locked_until) : null,
      principal,
    }),
    /**
     * The SET list that counts an attempt, restarting the count when an old lock has run out or the
     * last attempt was before `idle` (signin.ts idleSince). unknown.ts does the same for its table.
     */
    countSet: (q: Queryable, now: Date, idle: Date) => q`
      failed_attempts = case when locked_until <= ${now} or last_attempt_at is null
          or last_attempt_at < ${idle} then 1
        else failed_attempts + 1 end,
      locked_until = case when locked_until <= ${now} then null else locked_until end,
      last_attempt_at = ${now}`,
  };
}
