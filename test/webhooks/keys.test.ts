// Webhook configuration: the encryption key (sandbox key file, required elsewhere), the private-address
// default per mode, the retry schedule.
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config';
import { KEY_FILE_NAME, resolveWebhookKey } from '../../src/webhooks/keyfile';
import { MissingEncryptionKeyError, secretBoxFromConfig } from '../../src/webhooks/keys';
import { generateEncryptionKey } from '../../src/webhooks/secrets';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'alatau-whkey-'));
  dirs.push(d);
  return d;
};

function problems(env: Record<string, string>): readonly string[] {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('webhook configuration', () => {
  it('has defaults: 15 s timeout, the three-day schedule, ±10 % jitter, private receivers in sandbox only', () => {
    const sandbox = loadConfig({});
    expect(sandbox).toMatchObject({
      WEBHOOK_TIMEOUT_MS: 15_000,
      WEBHOOK_RETRY_JITTER_PERCENT: 10,
      WEBHOOK_CONCURRENCY: 16,
      WEBHOOK_ALLOW_PRIVATE: true,
    });
    expect(sandbox.WEBHOOK_RETRY_SCHEDULE).toHaveLength(10);
    expect(sandbox.WEBHOOK_ENCRYPTION_KEY).toBeUndefined();
    expect(loadConfig({ NETWORK_MODE: 'testnet' }).WEBHOOK_ALLOW_PRIVATE).toBe(false);
    expect(loadConfig({ NETWORK_MODE: 'mainnet' }).WEBHOOK_ALLOW_PRIVATE).toBe(false);
    expect(loadConfig({ NETWORK_MODE: 'testnet', WEBHOOK_ALLOW_PRIVATE: 'true' }).WEBHOOK_ALLOW_PRIVATE).toBe(
      true,
    );
    expect(loadConfig({ WEBHOOK_ALLOW_PRIVATE: 'false' }).WEBHOOK_ALLOW_PRIVATE).toBe(false);
    expect(loadConfig({ WEBHOOK_RETRY_SCHEDULE: '0,1s,2m' }).WEBHOOK_RETRY_SCHEDULE).toEqual([
      0, 1000, 120_000,
    ]);
  });

  it('names each bad webhook variable and never echoes the key', () => {
    const key = 'c2hvcnQ='; // base64 of 5 bytes
    const found = problems({
      WEBHOOK_ENCRYPTION_KEY: key,
      WEBHOOK_ALLOW_PRIVATE: 'maybe',
      WEBHOOK_TIMEOUT_MS: '10',
      WEBHOOK_RETRY_SCHEDULE: '0,5x',
      WEBHOOK_RETRY_JITTER_PERCENT: '90',
    });
    const text = found.join('\n');
    for (const name of [
      'WEBHOOK_ENCRYPTION_KEY',
      'WEBHOOK_ALLOW_PRIVATE',
      'WEBHOOK_TIMEOUT_MS',
      'WEBHOOK_RETRY_SCHEDULE',
      'WEBHOOK_RETRY_JITTER_PERCENT',
    ]) {
      expect(text).toContain(`${name}:`);
    }
    expect(text).toMatch(/WEBHOOK_ENCRYPTION_KEY: expected base64 of 32 random bytes/);
    expect(text).toMatch(/WEBHOOK_RETRY_SCHEDULE: "5x" is not a delay/);
    expect(text).not.toContain(key);
  });
});

describe('resolveWebhookKey (the Node entry)', () => {
  it('generates a sandbox key once, keeps it under DATA_DIR (0600) and reuses it', () => {
    const dir = tempDir();
    const first = resolveWebhookKey({
      NETWORK_MODE: 'sandbox',
      DATA_DIR: dir,
      WEBHOOK_ENCRYPTION_KEY: undefined,
    });
    expect(first.created).toBe(true);
    expect(first.file).toBe(join(dir, KEY_FILE_NAME));
    expect(readFileSync(first.file!, 'utf8').trim()).toBe(first.key);
    expect(statSync(first.file!).mode & 0o777).toBe(0o600);
    const again = resolveWebhookKey({
      NETWORK_MODE: 'sandbox',
      DATA_DIR: dir,
      WEBHOOK_ENCRYPTION_KEY: undefined,
    });
    expect(again).toEqual({ key: first.key, file: first.file, created: false });
  });

  it('prefers WEBHOOK_ENCRYPTION_KEY and requires it outside sandbox', () => {
    const key = generateEncryptionKey();
    expect(
      resolveWebhookKey({ NETWORK_MODE: 'mainnet', DATA_DIR: tempDir(), WEBHOOK_ENCRYPTION_KEY: key }),
    ).toEqual({ key, created: false });
    for (const mode of ['testnet', 'mainnet'] as const) {
      expect(() =>
        resolveWebhookKey({ NETWORK_MODE: mode, DATA_DIR: tempDir(), WEBHOOK_ENCRYPTION_KEY: undefined }),
      ).toThrow(/WEBHOOK_ENCRYPTION_KEY: required in (testnet|mainnet) mode/);
    }
  });

  it('refuses a damaged key file instead of replacing it', () => {
    const dir = tempDir();
    writeFileSync(join(dir, KEY_FILE_NAME), 'not-a-key\n');
    expect(() =>
      resolveWebhookKey({ NETWORK_MODE: 'sandbox', DATA_DIR: dir, WEBHOOK_ENCRYPTION_KEY: undefined }),
    ).toThrow(ConfigError);
    expect(readFileSync(join(dir, KEY_FILE_NAME), 'utf8')).toBe('not-a-key\n');
  });
});

describe('secretBoxFromConfig', () => {
  it('uses the configured key', async () => {
    const key = generateEncryptionKey();
    const a = secretBoxFromConfig({ NETWORK_MODE: 'mainnet', WEBHOOK_ENCRYPTION_KEY: key });
    const b = secretBoxFromConfig({ NETWORK_MODE: 'mainnet', WEBHOOK_ENCRYPTION_KEY: key });
    expect(await b.decrypt(await a.encrypt('whsec_x', 'whk_1'), 'whk_1')).toBe('whsec_x');
  });

  it('without a key: a process-local key in sandbox, a clear refusal elsewhere', async () => {
    const sandbox = secretBoxFromConfig({ NETWORK_MODE: 'sandbox', WEBHOOK_ENCRYPTION_KEY: undefined });
    expect(await sandbox.decrypt(await sandbox.encrypt('whsec_y', 'whk_2'), 'whk_2')).toBe('whsec_y');
    const live = secretBoxFromConfig({ NETWORK_MODE: 'mainnet', WEBHOOK_ENCRYPTION_KEY: undefined });
    await expect(live.encrypt('whsec_z', 'whk_3')).rejects.toBeInstanceOf(MissingEncryptionKeyError);
    await expect(live.decrypt('v1.a.b', 'whk_3')).rejects.toThrow(/WEBHOOK_ENCRYPTION_KEY is not set/);
  });
});
