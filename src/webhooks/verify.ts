// The receiver's side of Standard Webhooks lives in the merchants' client package, which the gateway's
// own tests use too: one implementation (constant-time compare via its timingSafeEqual).
export {
  DEFAULT_TOLERANCE_SECONDS,
  InvalidWebhookSecretError,
  type VerifyWebhookOptions,
  verifyWebhook,
  type WebhookHeaders,
  WebhookVerificationError,
  type WebhookVerificationErrorCode,
} from '../../packages/client/src/webhooks.js';
