// The receiver's side of Standard Webhooks, for merchants: checks the signature over the raw body and
// the timestamp window, then parses the JSON. Each failure has its own code and a message that says
// what to fix (the style of stripe-node's Webhooks.ts).
import { base64 } from '@scure/base';
import { timingSafeEqualString } from '../lib/ct';
import { AppError } from '../lib/errors';
import { parseWebhookSecret } from './secrets';
import { hmacSha256 } from './sign';

export const DEFAULT_TOLERANCE_SECONDS = 300;

export type WebhookVerificationErrorCode =
  | 'missing_headers'
  | 'stale_timestamp'
  | 'future_timestamp'
  | 'invalid_timestamp'
  | 'no_matching_signature'
  | 'unsupported_signature_version'
  | 'invalid_json';

export class WebhookVerificationError extends AppError {
  override name = 'WebhookVerificationError' as const;
  declare readonly code: WebhookVerificationErrorCode;
  constructor(code: WebhookVerificationErrorCode, message: string, cause?: unknown) {
    super(code, message, { status: 400, cause });
  }
}

export type WebhookHeaders = Headers | Record<string, string | string[] | undefined>;

export interface VerifyWebhookOptions {
  /** How far `webhook-timestamp` may be from now, either way (default 300 s). */
  readonly toleranceSeconds?: number;
  /** The clock, for tests and replays; defaults to the current time. */
  readonly nowSeconds?: number;
}

/**
 * Verifies a delivery and returns its parsed JSON body. `rawBody` must be the bytes exactly as
 * received: a body that was parsed and re-serialized no longer matches its signature.
 * Throws {@link WebhookVerificationError}; a malformed `secret` throws InvalidWebhookSecretError.
 */
export async function verifyWebhook(
  secret: string,
  headers: WebhookHeaders,
  rawBody: string | Uint8Array,
  opts: VerifyWebhookOptions = {},
): Promise<unknown> {
  const key = parseWebhookSecret(secret);
  const id = readHeader(headers, 'webhook-id');
  const timestamp = readHeader(headers, 'webhook-timestamp');
  const signatureHeader = readHeader(headers, 'webhook-signature');
  const missing = [
    ['webhook-id', id],
    ['webhook-timestamp', timestamp],
    ['webhook-signature', signatureHeader],
  ]
    .filter(([, value]) => !value)
    .map(([name]) => name);
  if (!id || !timestamp || !signatureHeader) {
    throw new WebhookVerificationError('missing_headers', `missing webhook header(s): ${missing.join(', ')}`);
  }

  const timestampSeconds = checkTimestamp(timestamp, opts);

  const candidates = signatureHeader.split(' ').filter((entry) => entry.length > 0);
  const v1 = candidates.filter((entry) => entry.startsWith('v1,')).map((entry) => entry.slice(3));
  if (v1.length === 0) {
    const versions = [...new Set(candidates.map((entry) => entry.split(',')[0]))].join(', ');
    throw new WebhookVerificationError(
      'unsupported_signature_version',
      `no v1 signature in webhook-signature (found: ${versions || 'none'}); this verifier supports v1 only`,
    );
  }

  const bodyBytes = typeof rawBody === 'string' ? new TextEncoder().encode(rawBody) : rawBody;
  const prefix = new TextEncoder().encode(`${id}.${timestampSeconds}.`);
  const content = new Uint8Array(prefix.length + bodyBytes.length);
  content.set(prefix, 0);
  content.set(bodyBytes, prefix.length);
  const expected = base64.encode(await hmacSha256(key, content));

  let matched = false;
  for (const candidate of v1) {
    // No early exit: every candidate is compared, each in constant time.
    if (timingSafeEqualString(candidate, expected)) matched = true;
  }
  if (!matched) {
    throw new WebhookVerificationError(
      'no_matching_signature',
      'no signature matches the payload. Either the secret is wrong (use the whsec_ secret of this ' +
        'endpoint) or the body was changed before verification: it must be the raw request body ' +
        'bytes, not a body that was parsed and re-serialized (JSON.stringify) by a framework',
    );
  }

  const text = decodeUtf8(bodyBytes);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new WebhookVerificationError('invalid_json', 'the signed webhook body is not valid JSON', err);
  }
}

function checkTimestamp(timestamp: string, opts: VerifyWebhookOptions): number {
  if (!/^\d{1,15}$/.test(timestamp)) {
    throw new WebhookVerificationError(
      'invalid_timestamp',
      `webhook-timestamp must be integer Unix seconds, got "${timestamp.slice(0, 40)}"`,
    );
  }
  const timestampSeconds = Number(timestamp);
  const tolerance = opts.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const now = opts.nowSeconds ?? Math.floor(Date.now() / 1000);
  if (now - timestampSeconds > tolerance) {
    throw new WebhookVerificationError(
      'stale_timestamp',
      `webhook timestamp is ${now - timestampSeconds} s old, beyond the ${tolerance} s tolerance ` +
        '(a replayed message, or this server clock is wrong)',
    );
  }
  if (timestampSeconds - now > tolerance) {
    throw new WebhookVerificationError(
      'future_timestamp',
      `webhook timestamp is ${timestampSeconds - now} s in the future, beyond the ${tolerance} s ` +
        'tolerance (check this server clock)',
    );
  }
  return timestampSeconds;
}

/** Case-insensitive lookup in a fetch Headers or a Node-style header record. */
function readHeader(headers: WebhookHeaders, name: string): string | undefined {
  if (isFetchHeaders(headers)) return headers.get(name) ?? undefined;
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== name || value === undefined) continue;
    // Repeated headers: joined as a proxy would (signatures are space-separated anyway).
    return Array.isArray(value) ? value.join(' ') : value;
  }
  return undefined;
}

function isFetchHeaders(headers: WebhookHeaders): headers is Headers {
  return typeof (headers as Headers).get === 'function' && typeof (headers as Headers).has === 'function';
}

function decodeUtf8(bytes: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (err) {
    throw new WebhookVerificationError('invalid_json', 'the signed webhook body is not valid UTF-8', err);
  }
}
