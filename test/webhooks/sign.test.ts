import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { generateWebhookSecret } from '../../src/webhooks/secrets';
import { signWebhook } from '../../src/webhooks/sign';
import { verifyWebhook } from '../../src/webhooks/verify';

// The official `standardwebhooks` package is the independent client: it checks against the clock.
const nowSeconds = () => Math.floor(Date.now() / 1000);
const body = JSON.stringify({
  type: 'invoice.settled',
  timestamp: '2026-01-02T03:04:05.000Z',
  data: { id: 'inv_1', amount: '15000.00', currency: 'KZT', note: 'Алатау ✓' },
});

describe('signWebhook', () => {
  it('produces headers that the official standardwebhooks verifier accepts', async () => {
    const secret = generateWebhookSecret();
    const headers = await signWebhook({
      id: 'msg_1',
      timestampSeconds: nowSeconds(),
      body,
      secrets: [secret],
    });
    expect(headers['content-type']).toBe('application/json');
    expect(headers['user-agent']).toBe('alatau-pay-webhooks/1');
    expect(headers['webhook-id']).toBe('msg_1');
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
  });

  it('matches the signature the official library computes for the same message', async () => {
    const secret = generateWebhookSecret(48);
    const timestampSeconds = 1_700_000_000;
    const headers = await signWebhook({ id: 'msg_2', timestampSeconds, body, secrets: [secret] });
    const theirs = new Webhook(secret).sign('msg_2', new Date(timestampSeconds * 1000), body);
    expect(headers['webhook-signature']).toBe(theirs);
  });

  it('signs with every secret during a rotation, and each secret verifies on its own', async () => {
    const oldSecret = generateWebhookSecret();
    const newSecret = generateWebhookSecret();
    const timestampSeconds = nowSeconds();
    const headers = await signWebhook({
      id: 'msg_3',
      timestampSeconds,
      body,
      secrets: [newSecret, oldSecret],
    });
    const entries = headers['webhook-signature']!.split(' ');
    expect(entries).toHaveLength(2);
    expect(entries[0]).not.toBe(entries[1]);
    for (const secret of [newSecret, oldSecret]) {
      expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
      expect(await verifyWebhook(secret, headers, body, { nowSeconds: timestampSeconds })).toEqual(
        JSON.parse(body),
      );
    }
    const stranger = generateWebhookSecret();
    expect(() => new Webhook(stranger).verify(body, headers)).toThrow(/No matching signature/);
  });

  it('refuses bad input rather than signing something ambiguous', async () => {
    const secrets = [generateWebhookSecret()];
    await expect(signWebhook({ id: '', timestampSeconds: 1, body, secrets })).rejects.toThrow(TypeError);
    await expect(signWebhook({ id: 'a.b', timestampSeconds: 1, body, secrets })).rejects.toThrow(TypeError);
    await expect(signWebhook({ id: 'a b', timestampSeconds: 1, body, secrets })).rejects.toThrow(TypeError);
    await expect(signWebhook({ id: 'm', timestampSeconds: 1.5, body, secrets })).rejects.toThrow(TypeError);
    await expect(signWebhook({ id: 'm', timestampSeconds: -1, body, secrets })).rejects.toThrow(TypeError);
    await expect(signWebhook({ id: 'm', timestampSeconds: 1, body, secrets: [] })).rejects.toThrow(TypeError);
    await expect(
      signWebhook({ id: 'm', timestampSeconds: 1, body, secrets: ['whsec_short'] }),
    ).rejects.toMatchObject({ code: 'invalid_webhook_secret' });
  });
});
