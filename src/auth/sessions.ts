// Sign-in sessions: a random token in an HttpOnly SameSite=Strict cookie, stored only as its
// SHA-256, with a per-session CSRF token that every form carries. One store per kind of account
// (merchant_sessions for dashboard users, regulator_sessions for regulators).
import { sha256 } from '@noble/hashes/sha2.js';
import { utf8ToBytes } from '@noble/hashes/utils.js';
import { base64urlnopad } from '@scure/base';
import type { Queryable } from '../db/client';

export function randomToken(bytes = 32): string {
  return base64urlnopad.encode(crypto.getRandomValues(new Uint8Array(bytes)));
}

export const hashToken = (token: string): Uint8Array => sha256(utf8ToBytes(token));

const TOKEN_RE = /^[A-Za-z0-9_-]{20,100}$/;

export interface SessionFields {
  readonly csrf: string;
  readonly expiresAt: Date;
}

export interface NewSession {
  readonly token: string;
  readonly csrf: string;
  readonly expiresAt: Date;
}

export interface SessionStore<S> {
  readonly ttlMs: number;
  create(q: Queryable, subjectId: string, now?: Date, ttlMs?: number): Promise<NewSession>;
  /** The live session of a cookie token, with its account (undefined when disabled or expired). */
  load(q: Queryable, token: string, now?: Date): Promise<(S & SessionFields) | undefined>;
  delete(q: Queryable, token: string): Promise<void>;
  /** Ends every session of one account (it was disabled); the number ended. */
  endAll(q: Queryable, subjectId: string): Promise<number>;
}

export interface SessionTable<S> {
  readonly table: 'merchant_sessions' | 'regulator_sessions';
  readonly subject: 'user_id' | 'regulator_id';
  readonly ttlMs: number;
  /** The session row of a token hash joined to its enabled account, or undefined. */
  find(q: Queryable, tokenHash: Uint8Array, now: Date): Promise<(S & SessionFields) | undefined>;
}

export function sessionStore<S>(spec: SessionTable<S>): SessionStore<S> {
  const { table, subject } = spec;
  return {
    ttlMs: spec.ttlMs,
    async create(q, subjectId, now = new Date(), ttlMs = spec.ttlMs) {
      const token = randomToken();
      const csrf = randomToken();
      const expiresAt = new Date(now.getTime() + ttlMs);
      await q`insert into ${q(table)} (token_hash, ${q(subject)}, csrf_token, created_at, expires_at)
        values (${hashToken(token)}, ${subjectId}, ${csrf}, ${now}, ${expiresAt})`;
      // Housekeeping: expired sessions of anyone go when someone signs in.
      await q`delete from ${q(table)} where expires_at < ${now}`;
      return { token, csrf, expiresAt };
    },
    async load(q, token, now = new Date()) {
      if (!TOKEN_RE.test(token)) return undefined;
      return spec.find(q, hashToken(token), now);
    },
    async delete(q, token) {
      await q`delete from ${q(table)} where token_hash = ${hashToken(token)}`;
    },
    async endAll(q, subjectId) {
      const rows = await q`delete from ${q(table)} where ${q(subject)} = ${subjectId} returning token_hash`;
      return rows.length;
    },
  };
}
