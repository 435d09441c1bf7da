// Node entry: HTTP and the background ticks in one process. Several processes may share one
// PostgreSQL: the ticks lock rows, never assume they are alone.
// Only what decides where and how to start is imported up front; the server's own modules (routes,
// services, jobs: most of the start's module loading) load while the database and the chains start.
import { resolveAuditSecret } from './audit/keyfile';
import { openDatabase } from './boot';
import { withSandboxChains } from './chains/sandbox-owner';
import { ConfigError, loadConfig } from './config';
import { migrate } from './db/migrate';
import { createLogger } from './lib/log';
import { startChainsForGateway, watchSandboxFile } from './sandbox-chains';
import type { Services } from './services';
import { resolveWebhookKey } from './webhooks/keyfile';

const loadServerModules = async () => {
  const [nodeServer, app, derivePool, seed, services, tick, dispatch, webhookKeys] = await Promise.all([
    import('@hono/node-server'),
    import('./app'),
    import('./chains/utxo/derive-pool'),
    import('./seed'),
    import('./services'),
    import('./watch/tick'),
    import('./webhooks/dispatch'),
    import('./webhooks/keys'),
  ]);
  return {
    serve: nodeServer.serve,
    createApp: app.createApp,
    startDerivationThreads: derivePool.startDerivationThreads,
    seedDemo: seed.seedDemo,
    formatDemoSeed: seed.formatDemoSeed,
    createServices: services.createServices,
    keyModeFor: services.keyModeFor,
    startTickLoop: tick.startTickLoop,
    startDeliveryLoop: dispatch.startDeliveryLoop,
    secretBoxFromConfig: webhookKeys.secretBoxFromConfig,
  };
};

/**
 * Start-up progress for the person at the terminal (not log lines): what is done, and when, counted
 * from the moment this process started (performance.now()), module loading included.
 */
const progress = (step: string, what: string) =>
  process.stdout.write(`  ${step.padEnd(10)} ${what} (${(performance.now() / 1000).toFixed(1)} s)\n`);

async function main() {
  // Until the graceful shutdown below is in place, Ctrl-C or a SIGTERM mid-start exits at once: the
  // 'exit' handlers of the chain launchers and the database then stop what was started so far, where
  // a signal's default action would leave anvil and litecoind running.
  const exitNow = (signal: NodeJS.Signals) => process.exit(signal === 'SIGINT' ? 130 : 143);
  process.once('SIGINT', exitNow);
  process.once('SIGTERM', exitNow);
  // Loaded once the chains and the database have begun (below): their launchers load first, so
  // anvil and litecoind boot in their own processes while these load here.
  let loadModules!: () => void;
  const modules = new Promise<Awaited<ReturnType<typeof loadServerModules>>>((resolve, reject) => {
    loadModules = () => loadServerModules().then(resolve, reject);
  });
  // Awaited below; until then a failure to load must not count as unhandled.
  modules.catch(() => {});
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(process.env);
    // Webhook secrets are encrypted at rest: sandbox keeps a generated key under DATA_DIR, other modes
    // must be given WEBHOOK_ENCRYPTION_KEY.
    config = { ...config, WEBHOOK_ENCRYPTION_KEY: resolveWebhookKey(config).key };
    // Audit checkpoints are signed with a key outside the database: sandbox keeps one under DATA_DIR.
    const auditSecret = resolveAuditSecret(config).key;
    if (auditSecret) config = { ...config, AUDIT_SIGNING_KEY: auditSecret };
    // Sandbox: checks sandbox.json and the signer key under DATA_DIR now (a bad file stops the start);
    // the chains themselves are read again once started, and whenever the file changes.
    withSandboxChains(config);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
  const base = config;
  process.stdout.write(`alatau-pay: starting (${base.NETWORK_MODE} mode)\n`);
  const log = createLogger(base.LOG_LEVEL);
  // A last net, not a design: each known source is handled where it arises. A rejection nobody
  // awaited (a dropped database connection under a fire-and-forget write) is logged, and the
  // process keeps serving the requests that do not need it.
  process.on('unhandledRejection', (err) => log.error('unhandled rejection', { err }));
  // The database (and the sandbox demo, which needs only the database) and the sandbox chains start
  // side by side: neither needs the other.
  let banner = '';
  const chainsStarting = startChainsForGateway(base, (line) => progress('chains', line));
  const databaseOpening = (async () => {
    const db = await openDatabase(base, { migrate: false });
    progress(
      'database',
      db.embedded ? `embedded PostgreSQL in ${base.DATA_DIR}` : 'PostgreSQL from DATABASE_URL',
    );
    // Once, at start: the database is on a port any local user can reach (still behind its secret).
    if (db.onTcpBecause)
      progress('database', `on a loopback port, not a socket only you can reach: ${db.onTcpBecause}`);
    try {
      const applied = await migrate(db.sql);
      progress('migrations', applied.length ? `${applied.length} applied` : 'up to date');
      if (base.NETWORK_MODE === 'sandbox' && base.SEED_DEMO) {
        const m = await modules;
        const demo = await m.seedDemo(db.sql, m.keyModeFor(base), {
          scryptLogN: base.DASHBOARD_SCRYPT_LOG_N,
          regulatorScryptLogN: base.REGULATOR_SCRYPT_LOG_N,
          webhook: { url: `${base.PUBLIC_URL}/sandbox/webhooks`, secretBox: m.secretBoxFromConfig(base) },
        });
        // Printed once, on first start, for the person at the terminal: not a log line.
        banner = m.formatDemoSeed(demo, base.PUBLIC_URL);
      }
    } catch (err) {
      await db.close();
      throw err;
    }
    return db;
  })();
  loadModules();
  const [opened, chainsStarted] = await Promise.allSettled([databaseOpening, chainsStarting]);
  if (opened.status === 'rejected' || chainsStarted.status === 'rejected') {
    if (opened.status === 'fulfilled') await opened.value.close();
    if (chainsStarted.status === 'fulfilled') await chainsStarted.value?.stop();
    throw opened.status === 'rejected' ? opened.reason : (chainsStarted as PromiseRejectedResult).reason;
  }
  const db = opened.value;
  const ownChains = chainsStarted.value;
  if (banner) process.stdout.write(banner);
  let m: Awaited<typeof modules>;
  try {
    m = await modules;
  } catch (err) {
    await Promise.allSettled([db.close(), ownChains?.stop()]);
    throw err;
  }
  const { createApp, createServices, serve, startDeliveryLoop, startTickLoop } = m;
  const derivation = m.startDerivationThreads(base.DERIVATION_THREADS, log);
  const build = (c: typeof base) =>
    createServices(c, db.sql, { logger: log, deriveAddresses: derivation.derive });
  // Sandbox chains come from sandbox.json: rebuilt when it changes, so chains started after the
  // gateway (or restarted on new ports) are offered and watched without a restart.
  let chainConfig = withSandboxChains(base);
  let services: Services = build(chainConfig);
  const app = createApp(base, () => services);
  // Webhook delivery runs in its own loop: a receiver that never answers must not hold up the watchers.
  const startJobs = (svc: Services) =>
    base.JOBS
      ? {
          ticks: startTickLoop(svc, base.TICK_INTERVAL_MS, { webhooks: false }),
          deliveries: startDeliveryLoop(svc, base.TICK_INTERVAL_MS),
        }
      : undefined;
  const stopJobs = async (j: ReturnType<typeof startJobs>) => {
    await Promise.allSettled([j?.ticks.stop(), j?.deliveries.stop()]);
  };
  let jobs = startJobs(services);
  let swapping: Promise<void> = Promise.resolve();
  const unwatch =
    base.NETWORK_MODE === 'sandbox'
      ? watchSandboxFile(base.DATA_DIR, () => {
          swapping = swapping.then(async () => {
            let next: typeof base;
            try {
              next = withSandboxChains(base);
            } catch (err) {
              log.warn('sandbox.json unreadable; keeping the chains as they were', { err });
              return;
            }
            if (JSON.stringify(next) === JSON.stringify(chainConfig)) return;
            chainConfig = next;
            const fresh = build(next);
            await stopJobs(jobs);
            services = fresh;
            jobs = closing ? undefined : startJobs(fresh);
            log.info('sandbox chains changed: now watching them', {
              utxo: fresh.utxo?.watchers.map((w) => w.network) ?? [],
              evm: fresh.evm ? 'anvil' : 'none',
            });
          });
        })
      : () => {};
  const server = serve({ fetch: app.fetch, port: base.PORT, hostname: base.HOST }, (info) => {
    const url = base.PUBLIC_URL.replace(`:${base.PORT}`, `:${info.port}`);
    progress('ready', `listening on ${url}`);
    process.stdout.write(
      `alatau-pay listening on ${url} (port ${info.port}, ${base.NETWORK_MODE} mode, ` +
        `${db.embedded ? `embedded PostgreSQL in ${base.DATA_DIR}` : 'PostgreSQL from DATABASE_URL'})\n` +
        `  API docs: ${url}/docs\n`,
    );
  });
  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    log.info('shutting down', { signal });
    unwatch();
    server.close();
    await swapping;
    await stopJobs(jobs);
    await Promise.allSettled([derivation.close(), db.close(), ownChains?.stop()]);
    process.exit(0);
  };
  process.removeListener('SIGINT', exitNow);
  process.removeListener('SIGTERM', exitNow);
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

main().catch((err) => {
  console.error('alatau-pay failed to start:', err instanceof Error ? err.message : err);
  process.exit(1);
});
