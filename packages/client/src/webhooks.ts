// The receiver's side of Standard Webhooks (https://www.standardwebhooks.com): checks the signature
// over the raw body and the timestamp window, then parses the JSON. The gateway's own tests verify
// through this module too (src/webhooks/verify.ts re-exports it), so there is one implementation.
// No dependencies and WebCrypto only: runs on Node 20+, Deno, Bun, Cloudflare Workers and browsers.

export const DEFAULT_TOLERANCE_SECONDS = 300;
export const WEBHOOK_SECRET_PREFIX = 'whsec_';
/** Standard Webhooks asks for secrets of 24 to 64 bytes. */
const MIN_SECRET_BYTES = 24;
const MAX_SECRET_BYTES = 64;

export type WebhookVerificationErrorCode =
  | 'missing_headers'
  | 'stale_timestamp'
  | 'future_timestamp'
  | 'invalid_timestamp'
  | 'no_matching_signature'
  | 'unsupported_signature_version'
  | 'invalid_json';

/** The delivery is not authentic or not fresh: answer it with 400 and do not act on it. */
export class WebhookVerificationError extends Error {
  override name = 'WebhookVerificationError' as const;
  readonly status = 400;
  constructor(
    readonly code: WebhookVerificationErrorCode,
    message: string,
    cause?: unknown,
  ) {
    super(message, cause === undefined ? undefined : { cause });
  }
}

/** The secret is not `whsec_` + base64 of 24..64 bytes: a configuration fault on the receiver. */
export class InvalidWebhookSecretError extends Error {
  override name = 'InvalidWebhookSecretError' as const;
  readonly code = 'invalid_webhook_secret' as const;
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
 * Throws {@link WebhookVerificationError}; a malformed `secret` throws {@link InvalidWebhookSecretError}.
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
  if (!id || !timestamp || !signatureHeader) {
    const missing = [
      ['webhook-id', id],
      ['webhook-timestamp', timestamp],
      ['webhook-signature', signatureHeader],
    ]
      .filter(([, value]) => !value)
      .map(([name]) => name);
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

  const bodyBytes = typeof rawBody === 'string' ? utf8.encode(rawBody) : rawBody;
  const prefix = utf8.encode(`${id}.${timestampSeconds}.`);
  const content = new Uint8Array(prefix.length + bodyBytes.length);
  content.set(prefix, 0);
  content.set(bodyBytes, prefix.length);
  const expected = encodeBase64(await hmacSha256(key, content));

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

/** The HMAC key inside a secret, with or without the `whsec_` prefix. */
export function parseWebhookSecret(secret: string): Uint8Array<ArrayBuffer> {
  const encoded = secret.startsWith(WEBHOOK_SECRET_PREFIX)
    ? secret.slice(WEBHOOK_SECRET_PREFIX.length)
    : secret;
  // Strict base64 (atob alone tolerates whitespace and missing padding).
  if (encoded.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(encoded)) {
    throw new InvalidWebhookSecretError(
      'webhook secret is not valid base64 (expected "whsec_" followed by base64)',
    );
  }
  const binary = atob(encoded);
  const key = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) key[i] = binary.charCodeAt(i);
  if (key.length < MIN_SECRET_BYTES || key.length > MAX_SECRET_BYTES) {
    throw new InvalidWebhookSecretError(
      `webhook secret must hold ${MIN_SECRET_BYTES} to ${MAX_SECRET_BYTES} bytes, it holds ${key.length}`,
    );
  }
  return key;
}

/**
 * True when `a` and `b` hold the same bytes. Walks the longer length whatever the content, so a
 * length mismatch is false without an early exit that would leak where the difference is.
 */
export function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  const length = Math.max(a.length, b.length);
  let diff = a.length ^ b.length;
  for (let i = 0; i < length; i++) {
    diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  }
  return diff === 0;
}

function timingSafeEqualString(a: string, b: string): boolean {
  return timingSafeEqual(utf8.encode(a), utf8.encode(b));
}

const utf8 = new TextEncoder();

async function hmacSha256(
  key: Uint8Array<ArrayBuffer>,
  content: Uint8Array<ArrayBuffer>,
): Promise<Uint8Array> {
  const cryptoKey = await crypto.subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, [
    'sign',
  ]);
  return new Uint8Array(await crypto.subtle.sign('HMAC', cryptoKey, content));
}

function encodeBase64(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
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
