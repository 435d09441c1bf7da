// Dashboard users: people who sign in for one merchant with an email and a password (scrypt with a
// per-user salt, the same format as the regulator console), locked for a while after repeated failures.
import { appendAudit } from '../audit/log';
import type { DisableSpec } from '../auth/disable';
import { checkPasswordPolicy, DEFAULT_SCRYPT_LOG_N, hashPassword } from '../auth/passwords';
import { accountStatements, type LockoutPolicy, type PasswordAccounts } from '../auth/signin';
import type { Queryable, Sql } from '../db/client';
import { ConflictError, NotFoundError, ValidationError } from '../lib/errors';
import { isId, newId } from '../lib/ids';
import { dashboardSessions } from './sessions';

const EMAIL_RE = /^[^\s@]{1,64}@[^\s@]{1,255}$/;

export interface DashboardUser {
  readonly id: string;
  readonly merchantId: string;
  readonly email: string;
  readonly createdAt: Date;
  readonly lastSignInAt: Date | null;
  readonly lockedUntil: Date | null;
  readonly disabledAt: Date | null;
}

/**
 * A dashboard user's role (SPEC section 12). Every user is an owner until roles are assigned; the
 * other roles come with `user create --role`.
 */
export type DashboardRole = 'owner';

/** Who is behind a dashboard request. */
export interface DashboardPrincipal {
  readonly userId: string;
  readonly role: DashboardRole;
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
  disabledAt: r.disabled_at ? new Date(r.disabled_at) : null,
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

export type { LockoutPolicy };

const userStatements = accountStatements('merchant_users', true);

/** Dashboard users for the shared sign-in flow (src/auth/signin.ts). */
export const dashboardAccounts: PasswordAccounts<DashboardPrincipal> = {
  auditKind: 'dashboard_user',
  actorPrefix: 'user',
  async countAttempt(q, email, now, idle) {
    const [row] = await q`update merchant_users u set ${userStatements.countSet(q, now, idle)}
      from merchants m
      where m.id = u.merchant_id and lower(u.email) = lower(${email}) and u.disabled_at is null
      returning u.id, u.email, u.merchant_id, m.name as merchant_name, u.password_hash, u.failed_attempts,
        u.locked_until`;
    if (!row) return undefined;
    return userStatements.counted(row, {
      userId: row.id,
      role: 'owner',
      merchantId: row.merchant_id,
      merchantName: row.merchant_name,
      email: row.email,
    });
  },
  lock: userStatements.lock,
  succeeded: userStatements.succeeded,
  setPasswordHash: userStatements.setPasswordHash,
};

/** Disabling a dashboard user (src/auth/disable.ts): no sign-in, and their sessions end now. */
export const dashboardUserDisable: DisableSpec<DashboardUser> = {
  table: 'merchant_users',
  idPrefix: 'usr',
  noun: 'dashboard user',
  idName: 'user',
  notFoundCode: 'user_not_found',
  auditAction: 'dashboard_user.disabled',
  sessions: dashboardSessions,
  fromRow: userFromRow,
};
