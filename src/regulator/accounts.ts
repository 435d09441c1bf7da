// Regulator accounts: API keys (rk_…, stored as SHA-256 like merchant keys) for the regulator API,
// and a password (scrypt) for the console, with a lockout after repeated failures.
import { sha256 } from '@noble/hashes/sha2.js';
import { utf8ToBytes } from '@noble/hashes/utils.js';
import { base58 } from '@scure/base';
import { appendAudit } from '../audit/log';
import type { DisableSpec } from '../auth/disable';
import { checkPasswordPolicy, DEFAULT_SCRYPT_LOG_N, hashPassword } from '../auth/passwords';
import { accountStatements, type LockoutPolicy, type PasswordAccounts } from '../auth/signin';
import type { Queryable, Sql } from '../db/client';
import { timingSafeEqual } from '../lib/ct';
import { AuthError, ConflictError, NotFoundError, ValidationError } from '../lib/errors';
import { isId, newId } from '../lib/ids';
import { consoleSessions } from './sessions';

const KEY_RE = /^rk_[1-9A-HJ-NP-Za-km-z]{40,50}$/;
const EMAIL_RE = /^[^\s@]{1,64}@[^\s@]{1,255}$/;

export interface Regulator {
  readonly id: string;
  readonly name: string;
  readonly email: string;
  readonly createdAt: Date;
  readonly hasPassword: boolean;
  readonly lockedUntil: Date | null;
  readonly disabledAt: Date | null;
}

export interface RegulatorPrincipal {
  readonly regulatorId: string;
  /** SPEC section 12: one role for now; four-eyes rules already tell regulators apart by id. */
  readonly role: 'regulator';
  readonly name: string;
  readonly email: string;
  readonly keyId?: string;
}

export interface CreatedRegulatorKey {
  readonly id: string;
  readonly apiKey: string;
  readonly prefix: string;
}

// biome-ignore lint/suspicious/noExplicitAny: raw rows from postgres.js
const regulatorFromRow = (r: Record<string, any>): Regulator => ({
  id: r.id,
  name: r.name,
  email: r.email,
  createdAt: new Date(r.created_at),
  hasPassword: r.password_hash != null,
  lockedUntil: r.locked_until ? new Date(r.locked_until) : null,
  disabledAt: r.disabled_at ? new Date(r.disabled_at) : null,
});

export const hashRegulatorKey = (key: string): Uint8Array => sha256(utf8ToBytes(key));

export function generateRegulatorKey(): string {
  const raw = new Uint8Array(32);
  crypto.getRandomValues(raw);
  return `rk_${base58.encode(raw)}`;
}

export async function createRegulatorKey(
  q: Queryable,
  regulatorId: string,
  label?: string,
): Promise<CreatedRegulatorKey> {
  const apiKey = generateRegulatorKey();
  const id = newId('key');
  const prefix = apiKey.slice(0, 11);
  await q`insert into regulator_keys (id, regulator_id, key_hash, prefix, label)
    values (${id}, ${regulatorId}, ${hashRegulatorKey(apiKey)}, ${prefix}, ${label ?? null})`;
  return { id, apiKey, prefix };
}

export interface RegulatorInput {
  readonly name: string;
  readonly email: string;
  readonly password?: string | undefined;
  /** scrypt cost as log2 N (config REGULATOR_SCRYPT_LOG_N; 15 by default). */
  readonly scryptLogN?: number;
}

/** Creates a regulator with a first API key (shown once) and, when given, a console password. */
export async function createRegulator(
  sql: Sql,
  input: RegulatorInput,
  actor = 'cli',
): Promise<{ regulator: Regulator; apiKey: CreatedRegulatorKey }> {
  const name = input.name.trim();
  const email = input.email.trim();
  const errors = [];
  if (!name || name.length > 200) errors.push({ path: 'name', message: 'a name of 1 to 200 characters' });
  if (!EMAIL_RE.test(email))
    errors.push({ path: 'email', message: 'an email address such as officer@afm.kz' });
  if (errors.length) throw new ValidationError('invalid regulator', errors);
  if (input.password !== undefined) checkPasswordPolicy(input.password);
  const passwordHash =
    input.password === undefined
      ? null
      : await hashPassword(input.password, input.scryptLogN ?? DEFAULT_SCRYPT_LOG_N);
  const id = newId('reg');
  return sql.begin(async (tx) => {
    const [taken] = await tx`select id from regulators where lower(email) = lower(${email})`;
    if (taken) throw new ConflictError('regulator_exists', `a regulator with email ${email} already exists`);
    await tx`insert into regulators (id, name, email, password_hash) values (${id}, ${name}, ${email}, ${passwordHash})`;
    const apiKey = await createRegulatorKey(tx, id, 'default');
    await appendAudit(tx, {
      actor,
      action: 'regulator.created',
      subject: id,
      data: { name, email, apiKeyId: apiKey.id, password: passwordHash !== null },
    });
    const [row] = await tx`select * from regulators where id = ${id}`;
    return { regulator: regulatorFromRow(row!), apiKey };
  });
}

export async function getRegulator(q: Queryable, id: string): Promise<Regulator | undefined> {
  const [row] = await q`select * from regulators where id = ${id}`;
  return row ? regulatorFromRow(row) : undefined;
}

/** Resolves an rk_ key; wrong shape, unknown and revoked keys are 401 with distinct codes. */
export async function authenticateRegulatorKey(q: Queryable, key: string): Promise<RegulatorPrincipal> {
  if (!KEY_RE.test(key)) throw new AuthError('api_key_malformed', 'a regulator key has the form rk_…');
  const hash = hashRegulatorKey(key);
  const [row] = await q<
    {
      id: string;
      regulator_id: string;
      key_hash: Uint8Array;
      revoked_at: Date | null;
      last_used_at: Date | null;
      name: string;
      email: string;
      disabled_at: Date | null;
    }[]
  >`select k.id, k.regulator_id, k.key_hash, k.revoked_at, k.last_used_at, r.name, r.email, r.disabled_at
    from regulator_keys k join regulators r on r.id = k.regulator_id where k.key_hash = ${hash}`;
  if (!row || !timingSafeEqual(new Uint8Array(row.key_hash), hash)) {
    throw new AuthError('api_key_invalid', 'the API key is not valid');
  }
  if (row.revoked_at || row.disabled_at)
    throw new AuthError('api_key_revoked', 'the API key has been revoked');
  if (!row.last_used_at || Date.now() - new Date(row.last_used_at).getTime() > 60_000) {
    await q`update regulator_keys set last_used_at = now() where id = ${row.id}`;
  }
  return {
    regulatorId: row.regulator_id,
    role: 'regulator',
    name: row.name,
    email: row.email,
    keyId: row.id,
  };
}

export type { LockoutPolicy };

const regulatorStatements = accountStatements('regulators');

/** Regulators with a console password, for the shared sign-in flow (src/auth/signin.ts). */
export const regulatorAccounts: PasswordAccounts<RegulatorPrincipal> = {
  auditKind: 'regulator',
  actorPrefix: 'regulator',
  async countAttempt(q, email, now, idle) {
    const [row] = await q`update regulators set ${regulatorStatements.countSet(q, now, idle)}
      where lower(email) = lower(${email}) and disabled_at is null and password_hash is not null
      returning id, name, email, password_hash, failed_attempts, locked_until`;
    if (!row) return undefined;
    return regulatorStatements.counted(row, {
      regulatorId: row.id,
      role: 'regulator',
      name: row.name,
      email: row.email,
    });
  },
  lock: regulatorStatements.lock,
  succeeded: regulatorStatements.succeeded,
  setPasswordHash: regulatorStatements.setPasswordHash,
};

/**
 * Disabling a regulator (src/auth/disable.ts): no console sign-in, every console session ends now,
 * and their API keys are refused (401 api_key_revoked) from the next request.
 */
export const regulatorDisable: DisableSpec<Regulator> = {
  table: 'regulators',
  idPrefix: 'reg',
  noun: 'regulator',
  idName: 'regulator',
  notFoundCode: 'regulator_not_found',
  auditAction: 'regulator.disabled',
  sessions: consoleSessions,
  fromRow: regulatorFromRow,
};

/** Revokes one regulator API key at once (401 api_key_revoked from the next request). */
export async function revokeRegulatorKey(
  sql: Sql,
  keyId: string,
  actor = 'cli',
): Promise<{ id: string; regulatorId: string; revokedAt: Date; alreadyRevoked: boolean }> {
  if (!isId('key', keyId))
    throw new ValidationError('invalid key id', [{ path: 'id', message: 'a key id such as key_…' }]);
  return sql.begin(async (tx) => {
    const [before] = await tx<{ regulator_id: string; revoked_at: Date | null }[]>`
      select regulator_id, revoked_at from regulator_keys where id = ${keyId} for update`;
    if (!before) throw new NotFoundError(`regulator API key ${keyId}`, 'api_key_not_found');
    if (before.revoked_at) {
      return {
        id: keyId,
        regulatorId: before.regulator_id,
        revokedAt: new Date(before.revoked_at),
        alreadyRevoked: true,
      };
    }
    const [row] = await tx<{ revoked_at: Date }[]>`update regulator_keys set revoked_at = now()
      where id = ${keyId} returning revoked_at`;
    await appendAudit(tx, {
      actor,
      action: 'regulator_key.revoked',
      subject: before.regulator_id,
      data: { apiKeyId: keyId },
    });
    return {
      id: keyId,
      regulatorId: before.regulator_id,
      revokedAt: new Date(row!.revoked_at),
      alreadyRevoked: false,
    };
  });
}
