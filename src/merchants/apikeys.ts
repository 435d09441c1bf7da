// API keys: 32 random bytes, prefixed by mode, stored only as a SHA-256 hash and compared in
// constant time. The lookup is by hash, so the database never sees or indexes the key itself.
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { base58 } from '@scure/base';
import type { Queryable } from '../db/client';
import { oneRow } from '../db/errors';
import { timingSafeEqual } from '../lib/ct';
import { AuthError, NotFoundError } from '../lib/errors';
import { newId } from '../lib/ids';
import { merchantFromJson, merchantJson } from './record';
import type { Merchant } from './repository';

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

/** A stored key as authentication reads it, with its merchant (one statement for both). */
export interface ApiKeyRecord {
  readonly id: string;
  readonly mode: KeyMode;
  /** SHA-256 of the key, hex. */
  readonly hashHex: string;
  readonly revokedAt: string | null;
  readonly lastUsedAt: string | null;
  readonly merchant: Merchant;
}

/**
 * The keys with these hashes and their merchants, as a json array: a subquery, so that the
 * authentication's rate limits are read in the same statement (src/http/credentials.ts).
 */
export function apiKeysJson(q: Queryable, hashesHex: readonly string[]) {
  return q`coalesce((select json_agg(json_build_object('id', k.id, 'mode', k.mode,
      'hashHex', encode(k.key_hash, 'hex'), 'revokedAt', k.revoked_at, 'lastUsedAt', k.last_used_at,
      'merchant', ${merchantJson(q)}))
    from api_keys k join merchants m on m.id = k.merchant_id
    where k.key_hash = any(array(select decode(h, 'hex')
      from jsonb_array_elements_text(${q.json(hashesHex as string[])}::jsonb) h))),
    '[]'::json)`;
}

// biome-ignore lint/suspicious/noExplicitAny: an element of apiKeysJson's array as postgres.js parsed it
export function apiKeyFromJson(r: any): ApiKeyRecord {
  return { ...r, merchant: merchantFromJson(r.merchant) };
}

export const isApiKeyShaped = (key: string): boolean => KEY_RE.test(key);

/** Refuses a key that is not of the form sk_test_… / sk_live_… before anything is looked up. */
export function checkApiKeyShape(key: string): void {
  if (!isApiKeyShaped(key))
    throw new AuthError('api_key_malformed', 'the API key is not of the form sk_test_… or sk_live_…');
}

/**
 * Checks a presented key against what the lookup found for its hash. Wrong shape, unknown, revoked
 * and other-mode keys are all 401 with distinct codes; the message never echoes the key.
 */
export function verifyApiKey(key: string, found: ApiKeyRecord | undefined, expectedMode: KeyMode): Principal {
  checkApiKeyShape(key);
  if (!found || !timingSafeEqual(hexToBytes(found.hashHex), hashApiKey(key))) {
    throw new AuthError('api_key_invalid', 'the API key is not valid');
  }
  if (found.revokedAt) throw new AuthError('api_key_revoked', 'the API key has been revoked');
  if (found.mode !== expectedMode || !key.startsWith(`sk_${expectedMode}_`)) {
    throw new AuthError(
      'api_key_wrong_mode',
      `this gateway runs in ${expectedMode === 'test' ? 'test (sandbox/testnet)' : 'live (mainnet)'} mode; use an sk_${expectedMode}_ key`,
    );
  }
  return { merchantId: found.merchant.id, keyId: found.id, mode: found.mode };
}

const KEY_USE_EVERY_MS = 60_000;

const usedLately = (found: ApiKeyRecord, now: number): boolean =>
  found.lastUsedAt !== null && now - new Date(found.lastUsedAt).getTime() <= KEY_USE_EVERY_MS;

const recordKeyUse = (q: Queryable, id: string) =>
  q`update api_keys set last_used_at = now() where id = ${id}`;

/** Records a key's last use at most once a minute: auth must not turn every read into a write. */
export async function noteKeyUse(q: Queryable, found: ApiKeyRecord): Promise<void> {
  if (!usedLately(found, Date.now())) await recordKeyUse(q, found.id);
}

/**
 * noteKeyUse for a busy process. Concurrent requests with one key read the same stale last use, and
 * each would write it: a queue on the key's row lock once a minute. Here the first request of the
 * process writes it and the others go on; a failed write is tried again by the next request.
 */
export function createKeyUseRecorder(q: Queryable): (found: ApiKeyRecord) => Promise<void> {
  const recordedAt = new Map<string, number>(); // key id → when this process last recorded its use
  return async (found) => {
    const now = Date.now();
    const mine = recordedAt.get(found.id);
    if ((mine !== undefined && now - mine <= KEY_USE_EVERY_MS) || usedLately(found, now)) return;
    // Forgetting costs at most one extra write per key, so a full memo is simply emptied.
    if (recordedAt.size >= 10_000) recordedAt.clear();
    recordedAt.set(found.id, now);
    try {
      await recordKeyUse(q, found.id);
    } catch (err) {
      recordedAt.delete(found.id);
      throw err;
    }
  };
}

/** Resolves one bearer key to its merchant (the API's middleware batches this: src/http/credentials.ts). */
export async function authenticateApiKey(
  q: Queryable,
  key: string,
  expectedMode: KeyMode,
): Promise<Principal> {
  checkApiKeyShape(key);
  const row = oneRow(await q<{ keys: unknown[] }[]>`select ${apiKeysJson(q, [keyHashHex(key)])} as keys`);
  const found = row.keys.length ? apiKeyFromJson(row.keys[0]) : undefined;
  const principal = verifyApiKey(key, found, expectedMode);
  await noteKeyUse(q, found!);
  return principal;
}

export const keyHashHex = (key: string): string => bytesToHex(hashApiKey(key));
