// Typed errors: each has a stable machine `code`, an HTTP status for the one error funnel
// (src/http/problem.ts), optional per-field details, and context for logs (never sent to clients).

export interface FieldError {
  readonly path: string;
  readonly message: string;
}

export interface AppErrorOptions {
  readonly status?: number;
  readonly errors?: readonly FieldError[];
  readonly cause?: unknown;
  readonly context?: Record<string, unknown>;
  /** Extra response headers (Retry-After, WWW-Authenticate). */
  readonly headers?: Record<string, string>;
}

export class AppError extends Error {
  override name = 'AppError';
  readonly code: string;
  readonly status: number;
  readonly errors: readonly FieldError[] | undefined;
  readonly context: Record<string, unknown> | undefined;
  readonly headers: Record<string, string> | undefined;

  constructor(code: string, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = options.status ?? 400;
    this.errors = options.errors;
    this.context = options.context;
    this.headers = options.headers;
  }
}

/** A request the user can fix: bad fields, unknown options. */
export class ValidationError extends AppError {
  override name: string = 'ValidationError';
  constructor(message: string, errors: readonly FieldError[], code = 'validation_failed', status = 422) {
    super(code, message, { status, errors });
  }
}

export class NotFoundError extends AppError {
  override name: string = 'NotFoundError';
  constructor(what: string, code = 'not_found') {
    super(code, `${what} was not found`, { status: 404 });
  }
}

export class AuthError extends AppError {
  override name: string = 'AuthError';
  constructor(code: string, message: string, status = 401) {
    super(code, message, {
      status,
      headers: status === 401 ? { 'WWW-Authenticate': 'Bearer realm="alatau-pay"' } : undefined,
    });
  }
}

export class ConflictError extends AppError {
  override name: string = 'ConflictError';
  constructor(code: string, message: string, status = 409) {
    super(code, message, { status });
  }
}

/** An outside dependency failed (rate sources, RPC nodes): 503, safe to retry. */
export class UpstreamError extends AppError {
  override name: string = 'UpstreamError';
  constructor(code: string, message: string, cause?: unknown, context?: Record<string, unknown>) {
    super(code, message, { status: 503, cause, context, headers: { 'Retry-After': '5' } });
  }
}
