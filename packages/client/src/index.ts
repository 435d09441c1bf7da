// @alatau-pay/client: a typed client for the alatau-pay gateway API and the Standard Webhooks verifier.
import { GeneratedClient } from './generated.js';
import { type ClientOptions, HttpClient } from './http.js';

export * from './generated.js';
export {
  AlatauApiError,
  AlatauConnectionError,
  type ClientOptions,
  DEFAULT_TIMEOUT_MS,
  type FieldError,
  HttpClient,
  type RawRequest,
  type RequestOptions,
} from './http.js';
export * from './webhooks.js';

/**
 * The gateway API, one method per operation:
 * `new AlatauClient({ baseUrl, apiKey }).createInvoice({ amount: '5000.00', currency: 'KZT' })`.
 * Failures throw {@link AlatauApiError} (a problem+json answer) or {@link AlatauConnectionError}.
 */
export class AlatauClient extends GeneratedClient {
  constructor(options: ClientOptions) {
    super(new HttpClient(options));
  }

  /** Any request the generated methods do not cover yet, through the same auth, timeout and errors. */
  request<T>(...args: Parameters<HttpClient['request']>): Promise<T> {
    return this.http.request<T>(...args);
  }
}
