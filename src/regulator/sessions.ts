// Console sessions: a random token in an HttpOnly SameSite=Strict cookie, stored only as its SHA-256,
// with a per-session CSRF token that every form carries.
import { sha256 } from '@noble/hashes/sha2.js';
import { utf8ToBytes } from '@noble/hashes/utils.js';
import { base64urlnopad } from '@scure/base';
import type { Queryable } from '../db/client';

export const SESSION_TTL_MS = 8 * 60 * 60 * 1000;

export function randomToken(bytes = 32): string {
  const b = new Uint8Array(bytes);
  crypto.getRandomValues(b);
  return base64urlnopad.encode(b);
}

const hashToken = (token: string): Uint8Array => sha256(utf8ToBytes(token));

export interface ConsoleSession {
  readonly regulatorId: string;
  readonly name: string;
  readonly email: string;
  readonly csrf: string;
  readonly expiresAt: Date;
}

export async function createSession(
  q: Queryable,
  regulatorId: string,
  now = new Date(),
  ttlMs = SESSION_TTL_MS,
): Promise<{ token: string; csrf: string; expiresAt: Date }> {
  const token = randomToken();
  const csrf = randomToken();
  const expiresAt = new Date(now.getTime() + ttlMs);
  await q`insert into regulator_sessions (token_hash, regulator_id, csrf_token, created_at, expires_at)
    values (${hashToken(token)}, ${regulatorId}, ${csrf}, ${now}, ${expiresAt})`;
  // Housekeeping: expired sessions of anyone go when someone signs in.
  await q`delete from regulator_sessions where expires_at < ${now}`;
  return { token, csrf, expiresAt };
}

export async function loadSession(
  q: Queryable,
  token: string,
  now = new Date(),
): Promise<ConsoleSession | undefined> {
  if (!/^[A-Za-z0-9_-]{20,100}$/.test(token)) return undefined;
  const [row] = await q`select s.csrf_token, s.expires_at, r.id, r.name, r.email from regulator_sessions s
    join regulators r on r.id = s.regulator_id
    where s.token_hash = ${hashToken(token)} and s.expires_at > ${now} and r.disabled_at is null`;
  if (!row) return undefined;
  return {
    regulatorId: row.id,
    name: row.name,
    email: row.email,
    csrf: row.csrf_token,
    expiresAt: new Date(row.expires_at),
  };
}

export async function deleteSession(q: Queryable, token: string): Promise<void> {
  await q`delete from regulator_sessions where token_hash = ${hashToken(token)}`;
}
