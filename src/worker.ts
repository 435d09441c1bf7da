// Cloudflare Workers entry: the same Hono app and ticks as src/node.ts, over PostgreSQL through Hyperdrive.
// What can outlive a request lives per isolate: the parsed config, the app, the rate cache, the
// screening lists, EVM RPC clients and oracle contracts. Sockets never cross requests (workerd forbids
// it), so each request and each cron run gets its own postgres.js client with one connection; Hyperdrive
// pools the real ones. Migrations are not run here (they read files): apply them with
// `npm run cli -- migrate` before deploying.
import type { Context, ExecutionContext } from 'hono';
import { createListStore, type ListStore } from './aml/screen';
import type { OracleTarget } from './aml/screeners/oracle';
import { oraclesFromConfig, screeningFromConfig } from './aml/wiring';
import { type App, createApp } from './app';
import { createPasswordHasher, type PasswordHasher } from './auth/passwords';
import type { EvmNetworkConfig } from './chains/evm/config';
import { createEvmRpc, type EvmRpc } from './chains/evm/rpc';
import { evmServiceFromConfig } from './chains/evm/service';
import type { NetworkId } from './chains/networks';
import { type Config, ConfigError, loadConfig } from './config';
import { createSql } from './db/client';
import { createLogger, type Logger } from './lib/log';
import type { RatesService } from './rates/aggregate';
import { createServices, ratesFromConfig, type Services } from './services';
import { runTick } from './watch/tick';
import { utxoServiceFromConfig } from './watch/utxo';
import { runWebhookTick } from './webhooks/dispatch';
import { MissingEncryptionKeyError } from './webhooks/keys';
import type { SecretBox } from './webhooks/secrets';

/** The slice of the Hyperdrive binding we use (no @cloudflare/workers-types dependency). */
export interface HyperdriveBinding {
  readonly connectionString: string;
}

export interface WorkerEnv {
  readonly HYPERDRIVE: HyperdriveBinding;
  /** [vars] and secrets: the same variables as the Node entry (src/config.ts). */
  readonly [name: string]: unknown;
}

/** What workerd passes every handler (waitUntil, passThroughOnException, props): Hono's own type. */
export type WorkerExecutionContext = ExecutionContext;

export interface WorkerScheduledController {
  readonly cron: string;
  readonly scheduledTime: number;
}

/**
 * One connection per request or cron run, as Hyperdrive's postgres.js guide has it: concurrent queries
 * are pipelined on it, and each extra connection cost a round trip to open (and, with fetch_types on,
 * a pg_type lookup) before its first query.
 */
const WORKER_POOL_MAX = 1;

interface Isolate {
  readonly config: Config;
  readonly app: App;
  readonly logger: Logger;
  /** Rate quotes cached for RATE_CACHE_SECONDS: one round of the sources per isolate, not per invoice. */
  readonly rates: RatesService;
  /** Oracle contract interfaces (ethers providers speak over fetch, no socket). */
  readonly oracles: Partial<Record<NetworkId, OracleTarget>>;
  /** EVM JSON-RPC clients by network, with their failover state (fetch per call, no socket). */
  readonly evmRpcs: Map<string, EvmRpc>;
  /** The sign-in hashing bound must count across requests, or each request would get its own slots. */
  readonly passwords: PasswordHasher;
}

// Per isolate, built by its first request. Looked up by the env object the runtime hands every
// invocation and, should it hand a new one, by the configuration it carries (a few string vars).
const isolates = new WeakMap<object, Isolate>();
const isolatesByVars = new Map<string, Isolate>();
/** Distinct configurations kept (tests build several; production has one). */
const MAX_CONFIGS = 8;

// The screening lists in memory (up to a million addresses), per isolate and database: loaded by the
// first request that screens, then only re-read when their version counter moves. Keyed on the
// connection string rather than on env, as they belong to the database whatever env object arrives.
const listStores = new Map<string, ListStore>();

function listStoreFor(connectionString: string): ListStore {
  let store = listStores.get(connectionString);
  if (!store) {
    store = createListStore();
    listStores.set(connectionString, store);
  }
  return store;
}

function isolateFor(env: WorkerEnv): Isolate {
  const known = isolates.get(env);
  if (known) return known;
  const vars = stringVars(env);
  const key = JSON.stringify(Object.entries(vars).sort(([a], [b]) => (a < b ? -1 : 1)));
  let found = isolatesByVars.get(key);
  if (!found) {
    const config = loadConfig(vars);
    const logger = createLogger(config.LOG_LEVEL);
    const built: Isolate = {
      config,
      logger,
      rates: ratesFromConfig(config, logger),
      oracles: oraclesFromConfig(config),
      evmRpcs: new Map(),
      passwords: createPasswordHasher({
        concurrency: config.SIGN_IN_HASH_CONCURRENCY,
        queue: config.SIGN_IN_HASH_QUEUE,
      }),
      app: createApp(config, (c: Context) => requestServices(built, c.env as WorkerEnv, c.req.url)),
    };
    found = built;
    if (isolatesByVars.size >= MAX_CONFIGS) isolatesByVars.delete(isolatesByVars.keys().next().value!);
    isolatesByVars.set(key, found);
  }
  isolates.set(env, found);
  return found;
}

/** Bindings are objects; configuration is the string-valued [vars] and secrets. */
function stringVars(env: WorkerEnv): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(env)) if (typeof v === 'string') out[k] = v;
  return out;
}

/**
 * Services for one request or one cron run, over what the isolate keeps. fetch_types is off (no
 * pg_type round trip per connection; the built-in array types are registered statically, see
 * db/arrays.ts) and prepared statements stay on (Hyperdrive caches them). The client is never ended:
 * sql.end() inside workerd leaves an unhandled rejection, and the runtime closes the socket when the
 * invocation finishes.
 */
function requestServices(isolate: Isolate, env: WorkerEnv, requestUrl?: string): Services {
  if (!env.HYPERDRIVE?.connectionString) {
    throw new ConfigError(['HYPERDRIVE: expected a Hyperdrive binding (see wrangler.toml)']);
  }
  const { config, logger, rates, oracles, evmRpcs, passwords } = isolate;
  const sql = createSql(env.HYPERDRIVE.connectionString, { max: WORKER_POOL_MAX, fetchTypes: false });
  // Without PUBLIC_URL, checkout links point at the host the request came to rather than at the
  // Node default (127.0.0.1). Cron runs have no request: they need PUBLIC_URL (see wrangler.toml).
  const effective =
    !hasPublicUrl(env) && requestUrl ? { ...config, PUBLIC_URL: new URL(requestUrl).origin } : config;
  const state = { publicUrl: effective.PUBLIC_URL };
  const screening = screeningFromConfig(effective, sql, state, logger, {
    listStore: listStoreFor(env.HYPERDRIVE.connectionString),
    oracles,
  });
  // Services live for one request or one cron run here: a watcher's lease is given back when its tick
  // ends, or checkout pages' checks in other isolates would find the chain busy until it expired.
  const watcher = { releaseLeaseAfterTick: true };
  const rpcFor = (net: EvmNetworkConfig): EvmRpc => {
    // Keyed on the URLs too: a request-specific config never reuses another's client.
    const key = `${net.network} ${net.rpcUrls.join(' ')}`;
    let rpc = evmRpcs.get(key);
    if (!rpc) {
      rpc = createEvmRpc({
        urls: net.rpcUrls,
        timeoutMs: config.EVM_RPC_TIMEOUT_MS,
        retries: config.EVM_RPC_RETRIES,
        logger,
      });
      evmRpcs.set(key, rpc);
    }
    return rpc;
  };
  return createServices(effective, sql, {
    logger,
    passwords,
    rates,
    state,
    screening,
    evm: evmServiceFromConfig(effective, { sql, state, logger, screening, watcher, rpcFor }),
    utxo: utxoServiceFromConfig(effective, { sql, state, logger, screening, watcher }),
    ...(effective.WEBHOOK_ENCRYPTION_KEY ? {} : { secretBox: noKeyBox }),
  });
}

// Node's sandbox keeps a generated key under DATA_DIR; a Worker has nowhere to keep one, and a key made
// per request would lose every stored secret. So without WEBHOOK_ENCRYPTION_KEY webhooks refuse, with
// a message naming the variable, and everything else keeps working.
const noKeyBox: SecretBox = {
  encrypt: () => Promise.reject(new MissingEncryptionKeyError()),
  decrypt: () => Promise.reject(new MissingEncryptionKeyError()),
};

function hasPublicUrl(env: WorkerEnv): boolean {
  return typeof env.PUBLIC_URL === 'string' && env.PUBLIC_URL.trim() !== '';
}

function configProblem(err: ConfigError): Response {
  // The names and expectations only: loadConfig never echoes a value that may be a secret.
  console.error(err.message);
  return new Response(
    JSON.stringify({
      type: 'urn:alatau-pay:problem:invalid_config',
      title: 'Internal Server Error',
      status: 500,
      detail: 'the gateway is misconfigured',
      code: 'invalid_config',
      errors: err.problems.map((p) => ({ path: p.split(':')[0] ?? '', message: p })),
    }),
    { status: 500, headers: { 'content-type': 'application/problem+json', 'cache-control': 'no-store' } },
  );
}

export default {
  fetch(request: Request, env: WorkerEnv, ctx: WorkerExecutionContext): Response | Promise<Response> {
    let isolate: Isolate;
    try {
      isolate = isolateFor(env);
    } catch (err) {
      if (err instanceof ConfigError) return configProblem(err);
      throw err;
    }
    return isolate.app.fetch(request, env, ctx);
  },

  /** The cron trigger runs the same tick as the Node loop; ticks lock rows, so overlapping runs are safe. */
  scheduled(controller: WorkerScheduledController, env: WorkerEnv, ctx: WorkerExecutionContext): void {
    const isolate = isolateFor(env);
    const { config } = isolate;
    const services = requestServices(isolate, env);
    if (!hasPublicUrl(env)) {
      services.logger.warn('PUBLIC_URL is not set: events from this cron run link to the default URL', {
        publicUrl: config.PUBLIC_URL,
      });
    }
    // Two steps side by side: webhook delivery waits on receivers (up to its timeout), which must
    // never hold up the chain watchers and expiry.
    ctx.waitUntil(
      runTick(services, new Date(), { webhooks: false }).then(
        (result) => services.logger.debug('tick done', { cron: controller.cron, ...result }),
        (err: unknown) => {
          services.logger.error('tick failed', { cron: controller.cron, err });
          // Rethrown so the cron run is recorded as failed.
          throw err;
        },
      ),
    );
    ctx.waitUntil(
      runWebhookTick(services).then(
        (result) => services.logger.debug('webhooks done', { cron: controller.cron, ...result }),
        (err: unknown) => {
          services.logger.error('webhook delivery failed', { cron: controller.cron, err });
          throw err;
        },
      ),
    );
  },
};
