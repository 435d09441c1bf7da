// Standard Webhooks signing (https://www.standardwebhooks.com): HMAC-SHA256 over
// `${id}.${timestamp}.${body}`, sent as `v1,<base64>`. WebCrypto only, so it runs on workerd too.
import { base64 } from '@scure/base';
import { parseWebhookSecret } from './secrets';

export const WEBHOOK_USER_AGENT = 'alatau-pay-webhooks/1';

export interface SignWebhookInput {
  /** The message id (`webhook-id`), stable across retries so receivers can deduplicate. */
  readonly id: string;
  readonly timestampSeconds: number;
  /** The exact JSON text that will be sent: the signature covers these bytes. */
  readonly body: string;
  /** Every secret in force: during a rotation overlap both the new and the old one sign. */
  readonly secrets: readonly string[];
}

/** The headers for one delivery attempt; `webhook-signature` carries one `v1,` entry per secret. */
export async function signWebhook(input: SignWebhookInput): Promise<Record<string, string>> {
  const { id, timestampSeconds, body, secrets } = input;
  // The id and timestamp are joined with '.' and sent as headers: keep them unambiguous and printable.
  if (!/^[\x21-\x7e]+$/.test(id) || id.includes('.')) {
    throw new TypeError('webhook id must be non-empty printable ASCII without spaces or dots');
  }
  if (!Number.isSafeInteger(timestampSeconds) || timestampSeconds < 0) {
    throw new TypeError(
      `webhook timestamp must be a non-negative integer of seconds, got ${timestampSeconds}`,
    );
  }
  if (secrets.length === 0) throw new TypeError('at least one webhook secret is needed to sign');

  const content = new TextEncoder().encode(`${id}.${timestampSeconds}.${body}`);
  const signatures = await Promise.all(
    secrets.map(
      async (secret) => `v1,${base64.encode(await hmacSha256(parseWebhookSecret(secret), content))}`,
    ),
  );
  return {
    'content-type': 'application/json',
    'user-agent': WEBHOOK_USER_AGENT,
    'webhook-id': id,
    'webhook-timestamp': String(timestampSeconds),
    'webhook-signature': signatures.join(' '),
  };
}

/** HMAC-SHA256 through WebCrypto; shared with verify.ts so both sides compute the same bytes. */
export async function hmacSha256(
  key: Uint8Array<ArrayBuffer>,
  content: Uint8Array<ArrayBuffer>,
): Promise<Uint8Array> {
  const cryptoKey = await crypto.subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, [
    'sign',
  ]);
  return new Uint8Array(await crypto.subtle.sign('HMAC', cryptoKey, content));
}
