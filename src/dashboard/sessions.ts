// Dashboard sessions: the shared session store (src/auth/sessions.ts) over merchant_sessions, each
// loaded with its user and merchant; a disabled user's sessions no longer load.
import { type SessionFields, sessionStore } from '../auth/sessions';
import type { Queryable } from '../db/client';
import type { DashboardPrincipal } from './users';

export { randomToken } from '../auth/sessions';

export const DASHBOARD_SESSION_TTL_MS = 12 * 60 * 60 * 1000;

export type DashboardSession = DashboardPrincipal & SessionFields;

export const dashboardSessions = sessionStore<DashboardPrincipal>({
  table: 'merchant_sessions',
  subject: 'user_id',
  ttlMs: DASHBOARD_SESSION_TTL_MS,
  async find(q, tokenHash, now) {
    const [row] = await q`select s.csrf_token, s.expires_at, u.id, u.email, u.merchant_id, m.name
      from merchant_sessions s
      join merchant_users u on u.id = s.user_id
      join merchants m on m.id = u.merchant_id
      where s.token_hash = ${tokenHash} and s.expires_at > ${now} and u.disabled_at is null`;
    if (!row) return undefined;
    return {
      userId: row.id,
      role: 'owner',
      merchantId: row.merchant_id,
      merchantName: row.name,
      email: row.email,
      csrf: row.csrf_token,
      expiresAt: new Date(row.expires_at),
    };
  },
});

export const createDashboardSession = (q: Queryable, userId: string, now?: Date, ttlMs?: number) =>
  dashboardSessions.create(q, userId, now, ttlMs);

export const loadDashboardSession = (q: Queryable, token: string, now?: Date) =>
  dashboardSessions.load(q, token, now);

export const deleteDashboardSession = (q: Queryable, token: string) => dashboardSessions.delete(q, token);
