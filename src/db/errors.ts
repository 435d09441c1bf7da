// Which database failures mean "the database is unreachable right now" rather than "this query is
// wrong": a dropped or refused connection, a server shutting down or not yet accepting. The one
// error funnel (src/http/problem.ts) answers those 503 with Retry-After; the ticks log and go on.
import { AppError } from '../lib/errors';

// postgres.js's own connection codes and the socket errors it passes through.
const CONNECTION_CODES = new Set([
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

// SQLSTATE: class 08 (connection exception), 57P01 admin_shutdown, 57P02 crash_shutdown,
// 57P03 cannot_connect_now, 53300 too_many_connections.
const SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300']);

export function isDatabaseUnavailable(err: unknown): boolean {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 4; depth++) {
    if (e instanceof DatabaseUnavailableError) return true;
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (CONNECTION_CODES.has(code) || SQLSTATES.has(code) || /^08/.test(code)))
      return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/** The database did not answer as a database does (a dropped connection, a statement with no row). */
export class DatabaseUnavailableError extends AppError {
  override name = 'DatabaseUnavailableError';
  constructor(cause?: unknown) {
    super('database_unavailable', 'the database is unavailable; retry shortly', {
      status: 503,
      cause,
      headers: { 'Retry-After': '1' },
    });
  }
}

/** The single row a statement must return; a missing one means the connection failed under it. */
export function oneRow<T>(rows: readonly T[]): T {
  const row = rows[0];
  if (row === undefined)
    throw new DatabaseUnavailableError(new Error('a single-row statement returned no row'));
  return row;
}
