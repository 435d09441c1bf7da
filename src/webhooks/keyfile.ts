// Node only: the webhook encryption key for `npm start`. Sandbox generates one on first start and
// keeps it under DATA_DIR (beside the embedded database whose secrets it encrypts); testnet and
// mainnet must be given WEBHOOK_ENCRYPTION_KEY, or the start stops with a message saying so.
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config';
import { ConfigError } from '../config';
import { createSecretBox, generateEncryptionKey } from './secrets';

export const KEY_FILE_NAME = 'webhook.key';

/** The key to use; `created` is true when a sandbox key file was written just now. */
export function resolveWebhookKey(
  config: Pick<Config, 'WEBHOOK_ENCRYPTION_KEY' | 'NETWORK_MODE' | 'DATA_DIR'>,
): { key: string; file?: string; created: boolean } {
  if (config.WEBHOOK_ENCRYPTION_KEY) return { key: config.WEBHOOK_ENCRYPTION_KEY, created: false };
  if (config.NETWORK_MODE !== 'sandbox') {
    throw new ConfigError([
      `WEBHOOK_ENCRYPTION_KEY: required in ${config.NETWORK_MODE} mode to encrypt webhook secrets at ` +
        'rest; set it to base64 of 32 random bytes (openssl rand -base64 32) and keep it safe',
    ]);
  }
  const file = join(config.DATA_DIR, KEY_FILE_NAME);
  if (existsSync(file)) {
    const key = readFileSync(file, 'utf8').trim();
    try {
      createSecretBox(key);
    } catch (err) {
      throw new ConfigError([`${file}: ${(err as Error).message}`]);
    }
    return { key, file, created: false };
  }
  mkdirSync(config.DATA_DIR, { recursive: true });
  const key = generateEncryptionKey();
  // 'wx': never overwrite a key another process wrote in the meantime (its secrets would be lost).
  try {
    writeFileSync(file, `${key}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as { code?: string }).code === 'EEXIST') return resolveWebhookKey(config);
    throw err;
  }
  chmodSync(file, 0o600);
  return { key, file, created: true };
}
