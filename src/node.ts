// Node entry: HTTP and the background ticks in one process. Several processes may share one
// PostgreSQL: the ticks lock rows, never assume they are alone.
import { serve } from '@hono/node-server';
import { createApp } from './app';
import { resolveAuditSecret } from './audit/keyfile';
import { openDatabase } from './boot';
import { withSandboxChains } from './chains/sandbox-owner';
import { startDerivationThreads } from './chains/utxo/derive-pool';
import { ConfigError, loadConfig } from './config';
import { migrate } from './db/migrate';
import { createLogger } from './lib/log';
import { startChainsForGateway, watchSandboxFile } from './sandbox-chains';
import { formatDemoSeed, seedDemo } from './seed';
import { createServices, type Services } from './services';
import { startTickLoop } from './watch/tick';
import { startDeliveryLoop } from './webhooks/dispatch';
import { resolveWebhookKey } from './webhooks/keyfile';

const startedAt = performance.now();
/** Start-up progress for the person at the terminal (not log lines): what is done, and when. */
const progress = (step: string, what: string) =>
  process.stdout.write(
    `  ${step.padEnd(10)} ${what} (${((performance.now() - startedAt) / 1000).toFixed(1)} s)\n`,
  );

async function main() {
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
  // The database and the sandbox chains start side by side: neither needs the other.
  const [opened, chainsStarted] = await Promise.allSettled([
    (async () => {
      const db = await openDatabase(base, { migrate: false });
      progress(
        'database',
        db.embedded ? `embedded PostgreSQL in ${base.DATA_DIR}` : 'PostgreSQL from DATABASE_URL',
      );
      try {
        const applied = await migrate(db.sql);
        progress('migrations', applied.length ? `${applied.length} applied` : 'up to date');
      } catch (err) {
        await db.close();
        throw err;
      }
      return db;
    })(),
    startChainsForGateway(base, (line) => progress('chains', line)),
  ]);
  if (opened.status === 'rejected' || chainsStarted.status === 'rejected') {
    if (opened.status === 'fulfilled') await opened.value.close();
    if (chainsStarted.status === 'fulfilled') await chainsStarted.value?.stop();
    throw opened.status === 'rejected' ? opened.reason : (chainsStarted as PromiseRejectedResult).reason;
  }
  const db = opened.value;
  const ownChains = chainsStarted.value;
  const derivation = startDerivationThreads(base.DERIVATION_THREADS, log);
  const build = (c: typeof base) =>
    createServices(c, db.sql, { logger: log, deriveAddresses: derivation.derive });
  // Sandbox chains come from sandbox.json: rebuilt when it changes, so chains started after the
  // gateway (or restarted on new ports) are offered and watched without a restart.
  let chainConfig = withSandboxChains(base);
  let services: Services = build(chainConfig);
  if (base.NETWORK_MODE === 'sandbox' && base.SEED_DEMO) {
    const demo = await seedDemo(db.sql, services.keyMode, {
      scryptLogN: base.DASHBOARD_SCRYPT_LOG_N,
      regulatorScryptLogN: base.REGULATOR_SCRYPT_LOG_N,
      webhook: { url: `${base.PUBLIC_URL}/sandbox/webhooks`, secretBox: services.secretBox },
    });
    // Printed once, on first start, for the person at the terminal: not a log line.
    const banner = formatDemoSeed(demo, base.PUBLIC_URL);
    if (banner) process.stdout.write(banner);
  }
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
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

main().catch((err) => {
  console.error('alatau-pay failed to start:', err instanceof Error ? err.message : err);
  process.exit(1);
});
