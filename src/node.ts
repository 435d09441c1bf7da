// Node entry: HTTP and the background ticks in one process. Several processes may share one
// PostgreSQL: the ticks lock rows, never assume they are alone.
import { serve } from '@hono/node-server';
import { createApp } from './app';
import { openDatabase } from './boot';
import { withSandboxEvm } from './chains/evm/sandbox-file';
import { withSandboxUtxo } from './chains/utxo/backends/sandbox-file';
import { startDerivationThreads } from './chains/utxo/derive-pool';
import { ConfigError, loadConfig } from './config';
import { createLogger } from './lib/log';
import { formatDemoSeed, seedDemo } from './seed';
import { createServices } from './services';
import { startTickLoop } from './watch/tick';
import { resolveWebhookKey } from './webhooks/keyfile';

async function main() {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(process.env);
    // Webhook secrets are encrypted at rest: sandbox keeps a generated key under DATA_DIR, other modes
    // must be given WEBHOOK_ENCRYPTION_KEY.
    config = { ...config, WEBHOOK_ENCRYPTION_KEY: resolveWebhookKey(config).key };
    // Sandbox EVM: anvil's RPC URL and contracts from DATA_DIR/sandbox.json (`npm run sandbox`) and the
    // intent-signing key generated under DATA_DIR; variables in the environment win.
    config = withSandboxEvm(config);
    // Sandbox Litecoin: the regtest node's RPC URL from DATA_DIR/sandbox.json; the environment wins.
    config = withSandboxUtxo(config);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
  const db = await openDatabase(config);
  const log = createLogger(config.LOG_LEVEL);
  // A last net, not a design: each known source is handled where it arises. A rejection nobody
  // awaited (a dropped database connection under a fire-and-forget write) is logged, and the
  // process keeps serving the requests that do not need it.
  process.on('unhandledRejection', (err) => log.error('unhandled rejection', { err }));
  const derivation = startDerivationThreads(config.DERIVATION_THREADS, log);
  const services = createServices(config, db.sql, { logger: log, deriveAddresses: derivation.derive });
  if (config.NETWORK_MODE === 'sandbox' && config.SEED_DEMO) {
    const demo = await seedDemo(db.sql, services.keyMode, {
      scryptLogN: config.DASHBOARD_SCRYPT_LOG_N,
      regulatorScryptLogN: config.REGULATOR_SCRYPT_LOG_N,
    });
    // Printed once, on first start, for the person at the terminal: not a log line.
    const banner = formatDemoSeed(demo, config.PUBLIC_URL);
    if (banner) process.stdout.write(banner);
  }
  const app = createApp(config, services);
  const server = serve({ fetch: app.fetch, port: config.PORT, hostname: config.HOST }, (info) => {
    process.stdout.write(
      `alatau-pay listening on ${config.PUBLIC_URL} (port ${info.port}, ${config.NETWORK_MODE} mode, ` +
        `${db.embedded ? `embedded PostgreSQL in ${config.DATA_DIR}` : 'PostgreSQL from DATABASE_URL'})\n` +
        `  API docs: ${config.PUBLIC_URL}/docs\n`,
    );
  });
  const ticks = config.JOBS ? startTickLoop(services, config.TICK_INTERVAL_MS) : undefined;
  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    log.info('shutting down', { signal });
    server.close();
    await ticks?.stop();
    await derivation.close();
    await db.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

main().catch((err) => {
  console.error('alatau-pay failed to start:', err instanceof Error ? err.message : err);
  process.exit(1);
});
