// postgres.js client factory: one per process/request scope, passed in through services (no singleton).
import postgres from 'postgres';
import { registerBuiltinArrayTypes } from './arrays';

// biome-ignore lint/suspicious/noExplicitAny: postgres.js's type map parameter
export type Sql = postgres.Sql<any>;
// biome-ignore lint/suspicious/noExplicitAny: postgres.js's type map parameter
export type Tx = postgres.TransactionSql<any>;
/** Anything a query can run on: the pool or an open transaction. */
export type Queryable = Sql | Tx;

export interface SqlOptions {
  readonly max?: number;
  readonly connectTimeoutSeconds?: number;
  /** Off: no pg_type lookup per connection; the built-in array types are registered instead. */
  readonly fetchTypes?: boolean;
  readonly prepare?: boolean;
  /** Called with each statement's text as it is sent (benchmarks count round trips with it). */
  readonly onStatement?: (statement: string) => void;
}

/**
 * A Unix-domain socket named as libpq names one, `?host=/dir` (the socket `/dir/.s.PGSQL.<port>`):
 * the embedded database's URL, or an operator's for a local PostgreSQL. postgres.js reads `host` only
 * from its options, and would send a `host` query parameter to the server as a setting.
 */
export function unixSocketOf(url: string): { url: string; path: string } | undefined {
  if (!url.includes('host=')) return undefined;
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return undefined;
  }
  const dir = u.searchParams.get('host');
  if (!dir?.startsWith('/')) return undefined;
  u.searchParams.delete('host');
  return { url: u.toString(), path: `${dir.replace(/\/+$/, '')}/.s.PGSQL.${u.port || '5432'}` };
}

export function createSql(url: string, options: SqlOptions = {}): Sql {
  const fetchTypes = options.fetchTypes ?? true;
  const socket = unixSocketOf(url);
  const sql = postgres(socket?.url ?? url, {
    ...(socket ? { path: socket.path } : {}),
    max: options.max ?? 10,
    connect_timeout: options.connectTimeoutSeconds ?? 10,
    idle_timeout: 30,
    // int8 columns (tiyn, counters) come back as bigint: money never passes through a float.
    types: { bigint: postgres.BigInt },
    fetch_types: fetchTypes,
    prepare: options.prepare ?? true,
    onnotice: () => {},
    connection: { application_name: 'alatau-pay' },
    ...(options.onStatement
      ? { debug: (_conn: number, statement: string) => options.onStatement!(statement) }
      : {}),
  });
  if (!fetchTypes) registerBuiltinArrayTypes(sql);
  return sql;
}

/** numeric(78,0) columns (atomic amounts) arrive as strings; this turns them into bigint. */
export function toBigInt(v: unknown): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isSafeInteger(v)) return BigInt(v);
  if (typeof v === 'string' && /^-?[0-9]+$/.test(v)) return BigInt(v);
  throw new TypeError(`not an integer: ${String(v)}`);
}
