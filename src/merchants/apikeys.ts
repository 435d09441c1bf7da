// API keys: 32 random bytes, prefixed by mode, stored only as a SHA-256 hash and compared in
// constant time. The lookup is by hash, so the database never sees or indexes the key itself.
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import { base58 } from '@scure/base';
import type { Queryable } from '../db/client';
import { timingSafeEqual } from '../lib/ct';
import { AuthError, NotFoundError } from '../lib/errors';
import { newId } from '../lib/ids';

export type KeyMode = 'test' | 'live';
const KEY_RE = /^sk_(test|live)_([1-9A-HJ-NP-Za-km-z]{40,50})$/;

export function hashApiKey(key: string): Uint8Array {
  return sha256(utf8ToBytes(key));
}

export function generateApiKey(mode: KeyMode): string {
  const raw = new Uint8Array(32);
  crypto.getRandomValues(raw);
  return `sk_${mode}_${base58.encode(raw)}`;
}

export interface CreatedApiKey {
  readonly id: string;
  readonly apiKey: string;
  readonly prefix: string;
  readonly mode: KeyMode;
}

export async function createApiKey(
  q: Queryable,
  merchantId: string,
  mode: KeyMode,
  label?: string,
): Promise<CreatedApiKey> {
  const apiKey = generateApiKey(mode);
  const id = newId('key');
  const prefix = apiKey.slice(0, 16);
  await q`insert into api_keys (id, merchant_id, mode, key_hash, prefix, label)
    values (${id}, ${merchantId}, ${mode}, ${hashApiKey(apiKey)}, ${prefix}, ${label ?? null})`;
  return { id, apiKey, prefix, mode };
}

export async function revokeApiKey(q: Queryable, keyId: string, merchantId?: string): Promise<void> {
  const scope = merchantId ? q`and merchant_id = ${merchantId}` : q``;
  const rows = await q`update api_keys set revoked_at = coalesce(revoked_at, now())
    where id = ${keyId} ${scope} returning id`;
  if (rows.length === 0) throw new NotFoundError('api key', 'api_key_not_found');
}

export interface Principal {
  readonly merchantId: string;
  readonly keyId: string;
  readonly mode: KeyMode;
}

/**
 * Resolves a bearer key to its merchant. Wrong shape, unknown, revoked and other-mode keys are all
 * 401 with distinct codes; the message never echoes the key.
 */
export async function authenticateApiKey(
  q: Queryable,
  key: string,
  expectedMode: KeyMode,
): Promise<Principal> {
  const m = KEY_RE.exec(key);
  if (!m) throw new AuthError('api_key_malformed', 'the API key is not of the form sk_test_… or sk_live_…');
  const hash = hashApiKey(key);
  const [row] = await q<
    {
      id: string;
      merchant_id: string;
      mode: KeyMode;
      key_hash: Uint8Array;
      revoked_at: Date | null;
      last_used_at: Date | null;
    }[]
  >`select id, merchant_id, mode, key_hash, revoked_at, last_used_at from api_keys where key_hash = ${hash}`;
  if (!row || !timingSafeEqual(new Uint8Array(row.key_hash), hash)) {
    throw new AuthError('api_key_invalid', 'the API key is not valid');
  }
  if (row.revoked_at) throw new AuthError('api_key_revoked', 'the API key has been revoked');
  if (row.mode !== expectedMode || m[1] !== expectedMode) {
    throw new AuthError(
      'api_key_wrong_mode',
      `this gateway runs in ${expectedMode === 'test' ? 'test (sandbox/testnet)' : 'live (mainnet)'} mode; use an sk_${expectedMode}_ key`,
    );
  }
  // Record last use at most once a minute per key: auth must not turn every read into a write.
  if (!row.last_used_at || Date.now() - new Date(row.last_used_at).getTime() > 60_000) {
    await q`update api_keys set last_used_at = now() where id = ${row.id}`;
  }
  return { merchantId: row.merchant_id, keyId: row.id, mode: row.mode };
}

export const keyHashHex = (key: string): string => bytesToHex(hashApiKey(key));
