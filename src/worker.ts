// Cloudflare Workers entry: the same Hono app and ticks as src/node.ts, over PostgreSQL through Hyperdrive.
// workerd forbids I/O objects (sockets) across requests, so each request and each cron run gets its own
// postgres.js client; Hyperdrive pools the real connections. Migrations are not run here (they read
// files): apply them with `npm run cli -- migrate` before deploying.
import type { Context } from 'hono';
import { createListStore, type ListStore } from './aml/screen';
import { screeningFromConfig } from './aml/wiring';
import { type App, createApp } from './app';
import { evmServiceFromConfig } from './chains/evm/service';
import { type Config, ConfigError, loadConfig } from './config';
import { createSql } from './db/client';
import { createLogger } from './lib/log';
import { createServices, type Services } from './services';
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

export interface WorkerExecutionContext {
  waitUntil(promise: Promise<unknown>): void;
}

export interface WorkerScheduledController {
  readonly cron: string;
  readonly scheduledTime: number;
}

/**
 * Connections per request. postgres.js opens them lazily, so a request that runs one query opens one;
 * a request with a transaction plus a side query needs two. Workers allow six simultaneous
 * outbound connections per request, so five leaves room for a rate fetch.
 */
const WORKER_POOL_MAX = 5;

interface Isolate {
  readonly config: Config;
  readonly app: App;
}

// Per isolate, keyed on the env object the runtime hands every invocation: the config is parsed and
// the app (routes, OpenAPI document) built once; only the database client is made per request.
const isolates = new WeakMap<object, Isolate>();

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
  let found = isolates.get(env);
  if (!found) {
    const config = loadConfig(stringVars(env));
    const app = createApp(config, (c: Context) => requestServices(config, c.env as WorkerEnv, c.req.url));
    found = { config, app };
    isolates.set(env, found);
  }
  return found;
}

/** Bindings are objects; configuration is the string-valued [vars] and secrets. */
function stringVars(env: WorkerEnv): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(env)) if (typeof v === 'string') out[k] = v;
  return out;
}

/**
 * Services for one request or one cron run. fetch_types stays on (Hyperdrive's guide turns it off
 * only for schemas without arrays; ours has text[] columns that postgres.js must parse). The client
 * is never ended: sql.end() inside workerd leaves an unhandled rejection, and the runtime closes the
 * sockets when the invocation finishes.
 */
function requestServices(config: Config, env: WorkerEnv, requestUrl?: string): Services {
  if (!env.HYPERDRIVE?.connectionString) {
    throw new ConfigError(['HYPERDRIVE: expected a Hyperdrive binding (see wrangler.toml)']);
  }
  const sql = createSql(env.HYPERDRIVE.connectionString, { max: WORKER_POOL_MAX, fetchTypes: true });
  // Without PUBLIC_URL, checkout links point at the host the request came to rather than at the
  // Node default (127.0.0.1). Cron runs have no request: they need PUBLIC_URL (see wrangler.toml).
  const effective =
    !hasPublicUrl(env) && requestUrl ? { ...config, PUBLIC_URL: new URL(requestUrl).origin } : config;
  const logger = createLogger(effective.LOG_LEVEL);
  const state = { publicUrl: effective.PUBLIC_URL };
  const screening = screeningFromConfig(effective, sql, state, logger, {
    listStore: listStoreFor(env.HYPERDRIVE.connectionString),
  });
  // Services live for one request or one cron run here: a watcher's lease is given back when its tick
  // ends, or checkout pages' checks in other isolates would find the chain busy until it expired.
  const watcher = { releaseLeaseAfterTick: true };
  return createServices(effective, sql, {
    logger,
    state,
    screening,
    evm: evmServiceFromConfig(effective, { sql, state, logger, screening, watcher }),
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
    return isolate.app.fetch(request, env, ctx as never);
  },

  /** The cron trigger runs the same tick as the Node loop; ticks lock rows, so overlapping runs are safe. */
  scheduled(controller: WorkerScheduledController, env: WorkerEnv, ctx: WorkerExecutionContext): void {
    const { config } = isolateFor(env);
    const services = requestServices(config, env);
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
