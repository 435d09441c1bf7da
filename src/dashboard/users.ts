// Dashboard users: people who sign in for one merchant with an email and a password (scrypt with a
// per-user salt, the same format as the regulator console), locked for a while after repeated failures.
import { appendAudit } from '../audit/log';
import type { Queryable, Sql } from '../db/client';
import { ConflictError, NotFoundError, ValidationError } from '../lib/errors';
import { isId, newId } from '../lib/ids';
import {
  checkPasswordPolicy,
  DEFAULT_SCRYPT_LOG_N,
  hashPassword,
  verifyPassword,
} from '../regulator/passwords';

const EMAIL_RE = /^[^\s@]{1,64}@[^\s@]{1,255}$/;

export interface DashboardUser {
  readonly id: string;
  readonly merchantId: string;
  readonly email: string;
  readonly createdAt: Date;
  readonly lastSignInAt: Date | null;
  readonly lockedUntil: Date | null;
}

/** Who is behind a dashboard request. */
export interface DashboardPrincipal {
  readonly userId: string;
  readonly merchantId: string;
  readonly merchantName: string;
  readonly email: string;
}

// biome-ignore lint/suspicious/noExplicitAny: raw rows from postgres.js
const userFromRow = (r: Record<string, any>): DashboardUser => ({
  id: r.id,
  merchantId: r.merchant_id,
  email: r.email,
  createdAt: new Date(r.created_at),
  lastSignInAt: r.last_sign_in_at ? new Date(r.last_sign_in_at) : null,
  lockedUntil: r.locked_until ? new Date(r.locked_until) : null,
});

/** A random password of 20 base58 characters (about 117 bits), for people who were not given one. */
export function generatePassword(): string {
  const alphabet = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
  const out: string[] = [];
  // Rejection sampling keeps every character equally likely.
  while (out.length < 20) {
    const b = crypto.getRandomValues(new Uint8Array(32));
    for (const x of b) if (x < 232 && out.length < 20) out.push(alphabet[x % 58]!);
  }
  return out.join('');
}

export interface DashboardUserInput {
  readonly merchantId: string;
  readonly email: string;
  readonly password: string;
  /** scrypt cost as log2 N (DASHBOARD_SCRYPT_LOG_N). */
  readonly scryptLogN?: number;
}

export async function createDashboardUser(
  sql: Sql,
  input: DashboardUserInput,
  actor = 'cli',
): Promise<DashboardUser> {
  const email = input.email.trim();
  const errors = [];
  if (!isId('mer', input.merchantId))
    errors.push({ path: 'merchant', message: 'a merchant id such as mer_…' });
  if (!EMAIL_RE.test(email))
    errors.push({ path: 'email', message: 'an email address such as owner@cafe.kz' });
  if (errors.length) throw new ValidationError('invalid dashboard user', errors);
  checkPasswordPolicy(input.password);
  const passwordHash = await hashPassword(input.password, input.scryptLogN ?? DEFAULT_SCRYPT_LOG_N);
  const id = newId('usr');
  return sql.begin(async (tx) => {
    const [m] = await tx`select id from merchants where id = ${input.merchantId}`;
    if (!m) throw new NotFoundError('merchant', 'merchant_not_found');
    const [taken] = await tx`select id from merchant_users where lower(email) = lower(${email})`;
    if (taken) throw new ConflictError('user_exists', `a dashboard user with email ${email} already exists`);
    await tx`insert into merchant_users (id, merchant_id, email, password_hash)
      values (${id}, ${input.merchantId}, ${email}, ${passwordHash})`;
    await appendAudit(tx, {
      actor,
      action: 'dashboard_user.created',
      subject: id,
      data: { merchantId: input.merchantId, email },
    });
    const [row] = await tx`select * from merchant_users where id = ${id}`;
    return userFromRow(row!);
  });
}

export async function listDashboardUsers(q: Queryable, merchantId?: string): Promise<DashboardUser[]> {
  const scope = merchantId ? q`where merchant_id = ${merchantId}` : q``;
  const rows = await q`select * from merchant_users ${scope} order by created_at, id`;
  return rows.map(userFromRow);
}

export interface LockoutPolicy {
  readonly attempts: number;
  readonly minutes: number;
}

export type SignInResult =
  | { readonly ok: true; readonly user: DashboardPrincipal }
  | { readonly ok: false; readonly reason: 'invalid' }
  | { readonly ok: false; readonly reason: 'locked'; readonly until: Date };

/**
 * Password sign-in. An unknown email costs as much time as a wrong password (a dummy hash is
 * checked); a locked account is refused without looking at the password; the Nth failure in a row
 * locks it for the policy's minutes. Sign-ins and lockouts go to the audit log.
 */
export async function signInDashboard(
  sql: Sql,
  input: {
    email: string;
    password: string;
    lockout: LockoutPolicy;
    now?: Date;
    dummyHash: () => Promise<string>;
  },
): Promise<SignInResult> {
  const now = input.now ?? new Date();
  const [row] = await sql`select u.*, m.name as merchant_name from merchant_users u
    join merchants m on m.id = u.merchant_id
    where lower(u.email) = lower(${input.email.trim()}) and u.disabled_at is null`;
  if (!row) {
    await verifyPassword(input.password, await input.dummyHash());
    return { ok: false, reason: 'invalid' };
  }
  if (row.locked_until && new Date(row.locked_until).getTime() > now.getTime()) {
    return { ok: false, reason: 'locked', until: new Date(row.locked_until) };
  }
  if (await verifyPassword(input.password, row.password_hash)) {
    await sql.begin(async (tx) => {
      await tx`update merchant_users set failed_attempts = 0, locked_until = null, last_sign_in_at = ${now}
        where id = ${row.id}`;
      await appendAudit(tx, { actor: `user:${row.id}`, action: 'dashboard_user.signed_in', subject: row.id });
    });
    return {
      ok: true,
      user: {
        userId: row.id,
        merchantId: row.merchant_id,
        merchantName: row.merchant_name,
        email: row.email,
      },
    };
  }
  return sql.begin(async (tx): Promise<SignInResult> => {
    const [u] = await tx<{ failed_attempts: number }[]>`update merchant_users
      set failed_attempts = failed_attempts + 1 where id = ${row.id} returning failed_attempts`;
    if (u!.failed_attempts < input.lockout.attempts) return { ok: false, reason: 'invalid' };
    const until = new Date(now.getTime() + input.lockout.minutes * 60_000);
    await tx`update merchant_users set failed_attempts = 0, locked_until = ${until} where id = ${row.id}`;
    await appendAudit(tx, {
      actor: 'system',
      action: 'dashboard_user.locked',
      subject: row.id,
      data: { attempts: input.lockout.attempts, until: until.toISOString() },
    });
    return { ok: false, reason: 'locked', until };
  });
}

/** A cache of one dummy hash per process, so unknown emails take as long as known ones. */
export function dummyHashCache(logN = 10): () => Promise<string> {
  let p: Promise<string> | undefined;
  return () => {
    p ??= hashPassword('not a password at all', logN);
    return p;
  };
}
