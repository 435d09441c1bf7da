// The one error funnel: every error becomes RFC 9457 application/problem+json with a stable `code`
// and the request id. 5xx are logged with their cause and never sent with a stack or internals.
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { DatabaseUnavailableError, isDatabaseUnavailable } from '../db/errors';
import { AppError, type FieldError } from '../lib/errors';
import type { Logger } from '../lib/log';
import type { SharedVariables } from './env';

/** Any context with a request id: the funnel answers for every sub-app, whatever else it holds. */
type WithRequestId = { Variables: Pick<SharedVariables, 'requestId'> };

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  requestId: string;
  errors?: readonly FieldError[];
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export const problemType = (code: string): string => `urn:alatau-pay:problem:${code}`;

export function problemResponse<E extends WithRequestId>(
  c: Context<E>,
  status: number,
  code: string,
  detail: string,
  errors?: readonly FieldError[],
  headers?: Record<string, string>,
): Response {
  const body: Problem = {
    type: problemType(code),
    title: TITLES[status] ?? 'Error',
    status,
    detail,
    code,
    requestId: c.get('requestId') ?? 'unknown', // unset when the first middleware never ran
    ...(errors?.length ? { errors } : {}),
  };
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/problem+json', 'cache-control': 'no-store', ...headers },
  });
}

export function onError(logger: Logger) {
  return <E extends WithRequestId>(err: Error, c: Context<E>): Response => {
    // A dropped or refused database connection is the database's state, not the request's: 503 and
    // a retry (which an Idempotency-Key makes safe even if the lost statement did commit).
    if (!(err instanceof AppError) && isDatabaseUnavailable(err)) {
      logger.warn('database unavailable', { err, path: c.req.path, method: c.req.method });
      err = new DatabaseUnavailableError(err);
    }
    if (err instanceof DatabaseUnavailableError) {
      return problemResponse(c, err.status, err.code, err.message, undefined, err.headers);
    }
    if (err instanceof AppError) {
      if (err.status >= 500) logger.error('request failed', { code: err.code, err, ...err.context });
      return problemResponse(c, err.status, err.code, err.message, err.errors, err.headers);
    }
    if (err instanceof HTTPException) {
      const status = err.status;
      const code =
        status === 413
          ? 'payload_too_large'
          : status === 400 && /json/i.test(err.message)
            ? 'invalid_json'
            : `http_${status}`;
      const detail =
        code === 'invalid_json'
          ? 'the request body is not valid JSON'
          : err.message || TITLES[status] || 'error';
      return problemResponse(c, status, code, detail);
    }
    logger.error('unhandled error', { err, path: c.req.path, method: c.req.method });
    return problemResponse(
      c,
      500,
      'internal_error',
      'something went wrong on our side; the request id helps us find it',
    );
  };
}
