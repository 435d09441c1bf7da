// Webhook signing secrets (Standard Webhooks `whsec_<base64>`) and their encryption at rest.
// WebCrypto only (no node:crypto, no Buffer) so the same code runs on Node 20 and Cloudflare workerd.
import { base64 } from '@scure/base';
import { AppError } from '../lib/errors';

export const WEBHOOK_SECRET_PREFIX = 'whsec_';
/** Standard Webhooks asks for secrets of 24 to 64 bytes. */
export const MIN_SECRET_BYTES = 24;
export const MAX_SECRET_BYTES = 64;

const NONCE_BYTES = 12;
const GCM_TAG_BYTES = 16;
const KEY_BYTES = 32;
const BOX_VERSION = 'v1';

/** A webhook secret that is not `whsec_` + base64 of 24..64 bytes. A configuration fault, hence 500. */
export class InvalidWebhookSecretError extends AppError {
  override name = 'InvalidWebhookSecretError' as const;
  constructor(message: string) {
    super('invalid_webhook_secret', message, { status: 500 });
  }
}

/** WEBHOOK_ENCRYPTION_KEY is not base64 of exactly 32 bytes. */
export class InvalidEncryptionKeyError extends AppError {
  override name = 'InvalidEncryptionKeyError' as const;
  constructor(message: string) {
    super('invalid_encryption_key', message, { status: 500 });
  }
}

export type SecretBoxErrorCode = 'secret_malformed' | 'secret_decrypt_failed';

/** A stored ciphertext that cannot be opened: malformed, tampered, another key, or another row's. */
export class SecretBoxError extends AppError {
  override name = 'SecretBoxError' as const;
  declare readonly code: SecretBoxErrorCode;
  constructor(code: SecretBoxErrorCode, message: string, cause?: unknown) {
    super(code, message, { status: 500, cause });
  }
}

export interface SecretBox {
  /** Encrypts with a fresh nonce; `aad` (the endpoint id) binds the ciphertext to its row. */
  encrypt(plain: string, aad: string): Promise<string>;
  /** Opens `v1.<nonce>.<ciphertext+tag>`; throws {@link SecretBoxError} on any mismatch. */
  decrypt(ciphertext: string, aad: string): Promise<string>;
}

/** A new signing secret: `whsec_` + base64 of `bytes` random bytes (24..64, default 32). */
export function generateWebhookSecret(bytes = 32): string {
  if (!Number.isInteger(bytes) || bytes < MIN_SECRET_BYTES || bytes > MAX_SECRET_BYTES) {
    throw new RangeError(
      `webhook secret length must be an integer from ${MIN_SECRET_BYTES} to ${MAX_SECRET_BYTES} bytes, ` +
        `got ${bytes}`,
    );
  }
  return WEBHOOK_SECRET_PREFIX + base64.encode(randomBytes(bytes));
}

/** The HMAC key inside a secret, with or without the `whsec_` prefix. */
export function parseWebhookSecret(secret: string): Uint8Array<ArrayBuffer> {
  const encoded = secret.startsWith(WEBHOOK_SECRET_PREFIX)
    ? secret.slice(WEBHOOK_SECRET_PREFIX.length)
    : secret;
  let key: Uint8Array;
  try {
    key = base64.decode(encoded);
  } catch (err) {
    throw new InvalidWebhookSecretError(
      `webhook secret is not valid base64 (expected "whsec_" followed by base64): ${errorMessage(err)}`,
    );
  }
  if (key.length < MIN_SECRET_BYTES || key.length > MAX_SECRET_BYTES) {
    throw new InvalidWebhookSecretError(
      `webhook secret must hold ${MIN_SECRET_BYTES} to ${MAX_SECRET_BYTES} bytes, it holds ${key.length}`,
    );
  }
  return new Uint8Array(key);
}

/** A fresh base64 32-byte key for WEBHOOK_ENCRYPTION_KEY (the sandbox keeps one under .data/). */
export function generateEncryptionKey(): string {
  return base64.encode(randomBytes(KEY_BYTES));
}

/** AES-256-GCM box for secrets at rest, keyed by base64 `keyMaterial` (WEBHOOK_ENCRYPTION_KEY). */
export function createSecretBox(keyMaterial: string): SecretBox {
  const raw = decodeKey(keyMaterial);
  // Imported once per box, lazily: importKey is async and the factory is not.
  let keyPromise: Promise<CryptoKey> | undefined;
  const key = () => {
    keyPromise ??= crypto.subtle.importKey('raw', raw, { name: 'AES-GCM' }, false, ['encrypt', 'decrypt']);
    return keyPromise;
  };
  const utf8 = new TextEncoder();

  return {
    async encrypt(plain, aad) {
      requireAad(aad);
      const nonce = randomBytes(NONCE_BYTES);
      const sealed = await crypto.subtle.encrypt(
        { name: 'AES-GCM', iv: nonce, additionalData: utf8.encode(aad) },
        await key(),
        utf8.encode(plain),
      );
      return `${BOX_VERSION}.${base64.encode(nonce)}.${base64.encode(new Uint8Array(sealed))}`;
    },

    async decrypt(ciphertext, aad) {
      requireAad(aad);
      const { nonce, sealed } = parseBox(ciphertext);
      let opened: ArrayBuffer;
      try {
        opened = await crypto.subtle.decrypt(
          { name: 'AES-GCM', iv: nonce, additionalData: utf8.encode(aad) },
          await key(),
          sealed,
        );
      } catch (err) {
        throw new SecretBoxError(
          'secret_decrypt_failed',
          'stored secret could not be decrypted: wrong WEBHOOK_ENCRYPTION_KEY, tampered ciphertext, ' +
            'or a ciphertext that belongs to another record',
          err,
        );
      }
      try {
        return new TextDecoder('utf-8', { fatal: true }).decode(opened);
      } catch (err) {
        throw new SecretBoxError('secret_malformed', 'decrypted secret is not valid UTF-8', err);
      }
    },
  };
}

function decodeKey(keyMaterial: string): Uint8Array<ArrayBuffer> {
  let raw: Uint8Array;
  try {
    raw = base64.decode(keyMaterial.trim());
  } catch (err) {
    throw new InvalidEncryptionKeyError(
      `WEBHOOK_ENCRYPTION_KEY is not valid base64 (${errorMessage(err)}); generate one with ` +
        `generateEncryptionKey() or \`openssl rand -base64 32\``,
    );
  }
  if (raw.length !== KEY_BYTES) {
    throw new InvalidEncryptionKeyError(
      `WEBHOOK_ENCRYPTION_KEY must decode to ${KEY_BYTES} bytes, it decodes to ${raw.length}`,
    );
  }
  return new Uint8Array(raw);
}

function parseBox(ciphertext: string): { nonce: Uint8Array<ArrayBuffer>; sealed: Uint8Array<ArrayBuffer> } {
  const parts = ciphertext.split('.');
  if (parts.length !== 3 || parts[0] !== BOX_VERSION) {
    throw new SecretBoxError(
      'secret_malformed',
      `stored secret is not in the ${BOX_VERSION}.<nonce>.<data> form`,
    );
  }
  let nonce: Uint8Array;
  let sealed: Uint8Array;
  try {
    nonce = base64.decode(parts[1]!);
    sealed = base64.decode(parts[2]!);
  } catch (err) {
    throw new SecretBoxError('secret_malformed', 'stored secret holds invalid base64', err);
  }
  if (nonce.length !== NONCE_BYTES || sealed.length < GCM_TAG_BYTES) {
    throw new SecretBoxError('secret_malformed', 'stored secret has a wrong nonce or data length');
  }
  return { nonce: new Uint8Array(nonce), sealed: new Uint8Array(sealed) };
}

function requireAad(aad: string): void {
  // Without an aad a row's ciphertext could be copied onto another row and still open.
  if (aad.length === 0) throw new TypeError('secret box: aad (the record id) must not be empty');
}

function randomBytes(length: number): Uint8Array<ArrayBuffer> {
  return crypto.getRandomValues(new Uint8Array(length));
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
