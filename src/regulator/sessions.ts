// Console sessions: the shared session store (src/auth/sessions.ts) over regulator_sessions, each
// loaded with its regulator; a disabled regulator's sessions no longer load.
import { type SessionFields, sessionStore } from '../auth/sessions';
import type { Queryable } from '../db/client';
import type { RegulatorPrincipal } from './accounts';

export { randomToken } from '../auth/sessions';

export const SESSION_TTL_MS = 8 * 60 * 60 * 1000;

export type ConsoleSession = RegulatorPrincipal & SessionFields;

export const consoleSessions = sessionStore<RegulatorPrincipal>({
  table: 'regulator_sessions',
  subject: 'regulator_id',
  ttlMs: SESSION_TTL_MS,
  async find(q, tokenHash, now) {
    const [row] = await q`select s.csrf_token, s.expires_at, r.id, r.name, r.email from regulator_sessions s
      join regulators r on r.id = s.regulator_id
      where s.token_hash = ${tokenHash} and s.expires_at > ${now} and r.disabled_at is null`;
    if (!row) return undefined;
    return {
      regulatorId: row.id,
      role: 'regulator',
      name: row.name,
      email: row.email,
      csrf: row.csrf_token,
      expiresAt: new Date(row.expires_at),
    };
  },
});

export const createSession = (q: Queryable, regulatorId: string, now?: Date, ttlMs?: number) =>
  consoleSessions.create(q, regulatorId, now, ttlMs);

export const loadSession = (q: Queryable, token: string, now?: Date) => consoleSessions.load(q, token, now);

export const deleteSession = (q: Queryable, token: string) => consoleSessions.delete(q, token);
