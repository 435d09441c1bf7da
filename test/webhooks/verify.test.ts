import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes } from '@noble/hashes/utils.js';
import { base64 } from '@scure/base';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { generateWebhookSecret, parseWebhookSecret } from '../../src/webhooks/secrets';
import { signWebhook } from '../../src/webhooks/sign';
import {
  type VerifyWebhookOptions,
  verifyWebhook,
  WebhookVerificationError,
  type WebhookVerificationErrorCode,
} from '../../src/webhooks/verify';

const secret = generateWebhookSecret();
const T = 1_700_000_000;
const payload = { type: 'invoice.processing', timestamp: '2023-11-14T22:13:20.000Z', data: { id: 'inv_9' } };
const rawBody = JSON.stringify(payload);

/** Headers signed by the official library, the way a merchant receives them. */
function theirHeaders(body = rawBody, timestampSeconds = T, key = secret): Record<string, string> {
  return {
    'webhook-id': 'msg_abc',
    'webhook-timestamp': String(timestampSeconds),
    'webhook-signature': new Webhook(key).sign('msg_abc', new Date(timestampSeconds * 1000), body),
  };
}

async function rejection(
  promise: Promise<unknown>,
  code: WebhookVerificationErrorCode,
): Promise<WebhookVerificationError> {
  const err = await promise.then(
    () => {
      throw new Error(`expected ${code}`);
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WebhookVerificationError);
  const typed = err as WebhookVerificationError;
  expect(typed.name).toBe('WebhookVerificationError');
  expect(typed.code).toBe(code);
  return typed;
}

const at: VerifyWebhookOptions = { nowSeconds: T };

describe('verifyWebhook', () => {
  it('accepts a message signed by the official standardwebhooks library and returns the body', async () => {
    expect(await verifyWebhook(secret, theirHeaders(), rawBody, at)).toEqual(payload);
  });

  it('accepts an unprefixed secret, a Uint8Array body, fetch Headers and mixed-case names', async () => {
    const headers = theirHeaders();
    const fetchHeaders = new Headers(headers);
    const mixed = {
      'Webhook-Id': headers['webhook-id'],
      'WEBHOOK-TIMESTAMP': headers['webhook-timestamp'],
      'Webhook-Signature': [headers['webhook-signature']!],
      'x-other': undefined,
    };
    const bytes = new TextEncoder().encode(rawBody);
    expect(await verifyWebhook(secret.slice('whsec_'.length), headers, bytes, at)).toEqual(payload);
    expect(await verifyWebhook(secret, fetchHeaders, rawBody, at)).toEqual(payload);
    expect(await verifyWebhook(secret, mixed, rawBody, at)).toEqual(payload);
  });

  it('verifies non-ASCII bodies byte for byte', async () => {
    const body = JSON.stringify({ type: 'invoice.created', data: { description: 'Кофе ☕ Алатау' } });
    const headers = await signWebhook({ id: 'msg_u', timestampSeconds: T, body, secrets: [secret] });
    expect(await verifyWebhook(secret, headers, new TextEncoder().encode(body), at)).toEqual(
      JSON.parse(body),
    );
    expect(new Webhook(secret).sign('msg_u', new Date(T * 1000), body)).toBe(headers['webhook-signature']);
  });

  it('finds the matching v1 entry among several, ignoring other versions', async () => {
    const headers = theirHeaders();
    const stranger = theirHeaders(rawBody, T, generateWebhookSecret())['webhook-signature'];
    headers['webhook-signature'] = `v1a,c2lnbmF0dXJl ${stranger}  ${headers['webhook-signature']}`;
    expect(await verifyWebhook(secret, headers, rawBody, at)).toEqual(payload);
  });

  it('missing_headers names each missing header', async () => {
    for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature']) {
      const headers: Record<string, string | undefined> = theirHeaders();
      headers[name] = undefined;
      const err = await rejection(verifyWebhook(secret, headers, rawBody, at), 'missing_headers');
      expect(err.message).toContain(name);
    }
    await rejection(verifyWebhook(secret, new Headers(), rawBody, at), 'missing_headers');
  });

  it('invalid_timestamp for anything but integer seconds', async () => {
    for (const value of ['abc', '1700000000.5', '-5', '1.7e9', '']) {
      const headers = { ...theirHeaders(), 'webhook-timestamp': value };
      const code = value === '' ? 'missing_headers' : 'invalid_timestamp';
      await rejection(verifyWebhook(secret, headers, rawBody, at), code);
    }
  });

  it('stale_timestamp beyond the tolerance, accepted just inside it', async () => {
    const headers = theirHeaders(rawBody, T - 301);
    const err = await rejection(verifyWebhook(secret, headers, rawBody, at), 'stale_timestamp');
    expect(err.message).toContain('301 s old');
    expect(await verifyWebhook(secret, theirHeaders(rawBody, T - 300), rawBody, at)).toEqual(payload);
    await rejection(
      verifyWebhook(secret, theirHeaders(rawBody, T - 31), rawBody, { nowSeconds: T, toleranceSeconds: 30 }),
      'stale_timestamp',
    );
  });

  it('future_timestamp beyond the tolerance, accepted just inside it', async () => {
    await rejection(verifyWebhook(secret, theirHeaders(rawBody, T + 301), rawBody, at), 'future_timestamp');
    expect(await verifyWebhook(secret, theirHeaders(rawBody, T + 300), rawBody, at)).toEqual(payload);
  });

  it('checks the timestamp against the clock when no nowSeconds is given', async () => {
    await rejection(verifyWebhook(secret, theirHeaders(), rawBody), 'stale_timestamp');
    const now = Math.floor(Date.now() / 1000);
    expect(await verifyWebhook(secret, theirHeaders(rawBody, now), rawBody)).toEqual(payload);
  });

  it('no_matching_signature for a re-serialized body, with a hint about the raw body', async () => {
    const reserialized = JSON.stringify(JSON.parse(rawBody), null, 2);
    const err = await rejection(
      verifyWebhook(secret, theirHeaders(), reserialized, at),
      'no_matching_signature',
    );
    expect(err.message).toMatch(/re-serialized/);
    expect(err.message).toMatch(/raw request body/);
    expect(err.message).toMatch(/secret is wrong/);
  });

  it('no_matching_signature for a wrong secret, a changed id, timestamp or body', async () => {
    const headers = theirHeaders();
    await rejection(verifyWebhook(generateWebhookSecret(), headers, rawBody, at), 'no_matching_signature');
    await rejection(
      verifyWebhook(secret, { ...headers, 'webhook-id': 'msg_other' }, rawBody, at),
      'no_matching_signature',
    );
    await rejection(
      verifyWebhook(secret, { ...headers, 'webhook-timestamp': String(T + 1) }, rawBody, at),
      'no_matching_signature',
    );
    await rejection(
      verifyWebhook(secret, headers, rawBody.replace('inv_9', 'inv_8'), at),
      'no_matching_signature',
    );
    await rejection(
      verifyWebhook(secret, { ...headers, 'webhook-signature': 'v1,notbase64' }, rawBody, at),
      'no_matching_signature',
    );
  });

  it('unsupported_signature_version when no v1 entry is present', async () => {
    const headers = { ...theirHeaders(), 'webhook-signature': 'v1a,c2lnbmF0dXJl v2,abc' };
    const err = await rejection(verifyWebhook(secret, headers, rawBody, at), 'unsupported_signature_version');
    expect(err.message).toContain('v1a, v2');
  });

  it('invalid_json for a correctly signed body that is not JSON or not UTF-8', async () => {
    await rejection(verifyWebhook(secret, theirHeaders('not json'), 'not json', at), 'invalid_json');
    // Correctly signed (by @noble/hashes, byte for byte) but not UTF-8: never handed to JSON.parse.
    const bad = Uint8Array.from([0x7b, 0xff, 0x7d]);
    const prefix = new TextEncoder().encode(`msg_b.${T}.`);
    const signature = base64.encode(hmac(sha256, parseWebhookSecret(secret), concatBytes(prefix, bad)));
    const headers = {
      'webhook-id': 'msg_b',
      'webhook-timestamp': String(T),
      'webhook-signature': `v1,${signature}`,
    };
    const err = await rejection(verifyWebhook(secret, headers, bad, at), 'invalid_json');
    expect(err.message).toContain('UTF-8');
  });

  it('refuses a malformed secret with its own error', async () => {
    await expect(verifyWebhook('whsec_???', theirHeaders(), rawBody, at)).rejects.toMatchObject({
      name: 'InvalidWebhookSecretError',
      code: 'invalid_webhook_secret',
    });
  });
});
