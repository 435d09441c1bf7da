// Dashboard sessions: a random token in an HttpOnly SameSite=Strict cookie, stored only as its
// SHA-256, with a per-session CSRF token that every form carries.
import { sha256 } from '@noble/hashes/sha2.js';
import { utf8ToBytes } from '@noble/hashes/utils.js';
import { base64urlnopad } from '@scure/base';
import type { Queryable } from '../db/client';
import type { DashboardPrincipal } from './users';

export const DASHBOARD_SESSION_TTL_MS = 12 * 60 * 60 * 1000;

export function randomToken(bytes = 32): string {
  return base64urlnopad.encode(crypto.getRandomValues(new Uint8Array(bytes)));
}

const hashToken = (token: string): Uint8Array => sha256(utf8ToBytes(token));

export interface DashboardSession extends DashboardPrincipal {
  readonly csrf: string;
  readonly expiresAt: Date;
}

export async function createDashboardSession(
  q: Queryable,
  userId: string,
  now = new Date(),
  ttlMs = DASHBOARD_SESSION_TTL_MS,
): Promise<{ token: string; csrf: string; expiresAt: Date }> {
  const token = randomToken();
  const csrf = randomToken();
  const expiresAt = new Date(now.getTime() + ttlMs);
  await q`insert into merchant_sessions (token_hash, user_id, csrf_token, created_at, expires_at)
    values (${hashToken(token)}, ${userId}, ${csrf}, ${now}, ${expiresAt})`;
  // Housekeeping: expired sessions of anyone go when someone signs in.
  await q`delete from merchant_sessions where expires_at < ${now}`;
  return { token, csrf, expiresAt };
}

export async function loadDashboardSession(
  q: Queryable,
  token: string,
  now = new Date(),
): Promise<DashboardSession | undefined> {
  if (!/^[A-Za-z0-9_-]{20,100}$/.test(token)) return undefined;
  const [row] = await q`select s.csrf_token, s.expires_at, u.id, u.email, u.merchant_id, m.name
    from merchant_sessions s
    join merchant_users u on u.id = s.user_id
    join merchants m on m.id = u.merchant_id
    where s.token_hash = ${hashToken(token)} and s.expires_at > ${now} and u.disabled_at is null`;
  if (!row) return undefined;
  return {
    userId: row.id,
    merchantId: row.merchant_id,
    merchantName: row.name,
    email: row.email,
    csrf: row.csrf_token,
    expiresAt: new Date(row.expires_at),
  };
}

export async function deleteDashboardSession(q: Queryable, token: string): Promise<void> {
  await q`delete from merchant_sessions where token_hash = ${hashToken(token)}`;
}
