// Node and CLI only: the audit signing key. AUDIT_SIGNING_KEY wins; sandbox generates one on first use
// and keeps it under DATA_DIR (mode 0600), like the webhook and gateway signer keys; other modes
// without it make no checkpoints, and verify against AUDIT_PUBLIC_KEY when that is given.
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config';
import { ConfigError } from '../config';
import { type AuditKey, auditKeyFromConfig, auditKeyFromSecret, generateAuditSecret } from './checkpoints';

export const AUDIT_KEY_FILE = 'audit-signing.key';

type KeyConfig = Pick<Config, 'AUDIT_SIGNING_KEY' | 'AUDIT_PUBLIC_KEY' | 'NETWORK_MODE' | 'DATA_DIR'> &
  Partial<Pick<Config, 'AUDIT_TRUSTED_PUBLIC_KEYS'>>;

/** The secret key to sign with (hex), generating the sandbox one if needed; undefined when none. */
export function resolveAuditSecret(config: KeyConfig): { key?: string; file?: string; created: boolean } {
  if (config.AUDIT_SIGNING_KEY) return { key: config.AUDIT_SIGNING_KEY, created: false };
  if (config.NETWORK_MODE !== 'sandbox') return { created: false };
  const file = join(config.DATA_DIR, AUDIT_KEY_FILE);
  if (existsSync(file)) {
    const key = readFileSync(file, 'utf8').trim();
    try {
      auditKeyFromSecret(key);
    } catch (err) {
      throw new ConfigError([`${file}: ${(err as Error).message}`]);
    }
    return { key, file, created: false };
  }
  mkdirSync(config.DATA_DIR, { recursive: true });
  const key = generateAuditSecret();
  try {
    writeFileSync(file, `${key}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as { code?: string }).code === 'EEXIST') return resolveAuditSecret(config);
    throw err;
  }
  chmodSync(file, 0o600);
  return { key, file, created: true };
}

/** Settings plus the sandbox key file: what the server and the CLI use. */
export function resolveAuditKey(config: KeyConfig): AuditKey | undefined {
  const secret = resolveAuditSecret(config).key;
  return auditKeyFromConfig({ ...config, AUDIT_SIGNING_KEY: secret });
}
