import { base64 } from '@scure/base';
import { describe, expect, it } from 'vitest';
import {
  createSecretBox,
  generateEncryptionKey,
  generateWebhookSecret,
  InvalidEncryptionKeyError,
  InvalidWebhookSecretError,
  parseWebhookSecret,
  SecretBoxError,
} from '../../src/webhooks/secrets';

describe('generateWebhookSecret', () => {
  it('returns whsec_ + base64 of 32 random bytes by default', () => {
    const secret = generateWebhookSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(base64.decode(secret.slice('whsec_'.length))).toHaveLength(32);
    expect(generateWebhookSecret()).not.toBe(secret);
  });

  it.each([24, 33, 64])('holds %i bytes when asked', (size) => {
    expect(parseWebhookSecret(generateWebhookSecret(size))).toHaveLength(size);
  });

  it.each([0, 23, 65, 32.5, Number.NaN])('refuses %s bytes', (size) => {
    expect(() => generateWebhookSecret(size)).toThrow(RangeError);
  });
});

describe('parseWebhookSecret', () => {
  const key = Uint8Array.from({ length: 32 }, (_, i) => i);
  const encoded = base64.encode(key);

  it('accepts the secret with or without the whsec_ prefix', () => {
    expect(parseWebhookSecret(`whsec_${encoded}`)).toEqual(key);
    expect(parseWebhookSecret(encoded)).toEqual(key);
  });

  it.each([
    ['not base64', 'whsec_not*base64!'],
    ['bad padding', `whsec_${encoded.slice(0, -1)}`],
    ['too short', `whsec_${base64.encode(new Uint8Array(16))}`],
    ['too long', `whsec_${base64.encode(new Uint8Array(65))}`],
    ['empty', 'whsec_'],
  ])('throws InvalidWebhookSecretError when %s', (_label, secret) => {
    const err = catchSync(() => parseWebhookSecret(secret));
    expect(err).toBeInstanceOf(InvalidWebhookSecretError);
    expect((err as InvalidWebhookSecretError).code).toBe('invalid_webhook_secret');
  });
});

describe('createSecretBox', () => {
  const box = createSecretBox(generateEncryptionKey());

  it('round-trips a secret and uses a fresh nonce each time', async () => {
    const secret = generateWebhookSecret();
    const first = await box.encrypt(secret, 'we_1');
    const second = await box.encrypt(secret, 'we_1');
    expect(first).toMatch(/^v1\.[A-Za-z0-9+/]{16}\.[A-Za-z0-9+/]+=*$/);
    expect(first).not.toBe(second);
    expect(first).not.toContain(secret.slice(6));
    expect(await box.decrypt(first, 'we_1')).toBe(secret);
    expect(await box.decrypt(second, 'we_1')).toBe(secret);
  });

  it('refuses to open with another key', async () => {
    const sealed = await box.encrypt('whsec_abc', 'we_1');
    const other = createSecretBox(generateEncryptionKey());
    await expectBoxError(other.decrypt(sealed, 'we_1'), 'secret_decrypt_failed');
  });

  it('refuses a ciphertext swapped onto another row (aad mismatch)', async () => {
    const sealed = await box.encrypt('whsec_abc', 'we_1');
    const err = await expectBoxError(box.decrypt(sealed, 'we_2'), 'secret_decrypt_failed');
    expect(err.message).toMatch(/another record/);
  });

  it('refuses a tampered ciphertext or nonce', async () => {
    const sealed = await box.encrypt('whsec_abc', 'we_1');
    const [version, nonce, data] = sealed.split('.') as [string, string, string];
    const flipped = base64.decode(data);
    flipped[0]! ^= 1;
    await expectBoxError(
      box.decrypt(`${version}.${nonce}.${base64.encode(flipped)}`, 'we_1'),
      'secret_decrypt_failed',
    );
    const otherNonce = base64.encode(crypto.getRandomValues(new Uint8Array(12)));
    await expectBoxError(box.decrypt(`${version}.${otherNonce}.${data}`, 'we_1'), 'secret_decrypt_failed');
  });

  it.each([
    ['no parts', 'garbage'],
    ['unknown version', 'v2.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA=='],
    ['bad base64', 'v1.!!!!.AAAA'],
    ['short nonce', 'v1.AAAA.AAAAAAAAAAAAAAAAAAAAAA=='],
    ['no tag', 'v1.AAAAAAAAAAAAAAAA.AAAA'],
  ])('reports a malformed ciphertext (%s)', async (_label, text) => {
    await expectBoxError(box.decrypt(text, 'we_1'), 'secret_malformed');
  });

  it('requires an aad so ciphertexts stay bound to their row', async () => {
    await expect(box.encrypt('x', '')).rejects.toThrow(TypeError);
    await expect(box.decrypt('v1.a.b', '')).rejects.toThrow(TypeError);
  });

  it('refuses key material that is not base64 of 32 bytes', () => {
    for (const bad of [
      '',
      'not base64!',
      base64.encode(new Uint8Array(16)),
      base64.encode(new Uint8Array(33)),
    ]) {
      const err = catchSync(() => createSecretBox(bad));
      expect(err).toBeInstanceOf(InvalidEncryptionKeyError);
      expect((err as Error).message).toContain('WEBHOOK_ENCRYPTION_KEY');
    }
  });

  it('generateEncryptionKey returns base64 of 32 random bytes', () => {
    const key = generateEncryptionKey();
    expect(base64.decode(key)).toHaveLength(32);
    expect(generateEncryptionKey()).not.toBe(key);
  });
});

function catchSync(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

async function expectBoxError(promise: Promise<unknown>, code: string): Promise<SecretBoxError> {
  const err = await promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SecretBoxError);
  expect((err as SecretBoxError).code).toBe(code);
  expect((err as SecretBoxError).name).toBe('SecretBoxError');
  return err as SecretBoxError;
}
