// Which key encrypts webhook secrets at rest. No node:fs here (Workers import it); the Node entry
// keeps the sandbox key in a file (keyfile.ts) and passes it in through WEBHOOK_ENCRYPTION_KEY.
import type { Config } from '../config';
import { AppError } from '../lib/errors';
import { createSecretBox, generateEncryptionKey, type SecretBox } from './secrets';

export class MissingEncryptionKeyError extends AppError {
  override name = 'MissingEncryptionKeyError' as const;
  constructor() {
    super(
      'webhook_key_missing',
      'WEBHOOK_ENCRYPTION_KEY is not set: webhook secrets cannot be stored or used. Set it to base64 of ' +
        '32 random bytes (openssl rand -base64 32) and keep it: stored secrets need the same key',
      { status: 500 },
    );
  }
}

/**
 * The box for the configured key. Without one: in sandbox a key for this process only (the Node entry
 * persists one under DATA_DIR, so this serves tests and tools); elsewhere a box that refuses every use
 * with a message naming the variable (the Node entry refuses to start before that).
 */
export function secretBoxFromConfig(
  config: Pick<Config, 'WEBHOOK_ENCRYPTION_KEY' | 'NETWORK_MODE'>,
): SecretBox {
  if (config.WEBHOOK_ENCRYPTION_KEY) return createSecretBox(config.WEBHOOK_ENCRYPTION_KEY);
  if (config.NETWORK_MODE === 'sandbox') return createSecretBox(generateEncryptionKey());
  return {
    encrypt: () => Promise.reject(new MissingEncryptionKeyError()),
    decrypt: () => Promise.reject(new MissingEncryptionKeyError()),
  };
}
