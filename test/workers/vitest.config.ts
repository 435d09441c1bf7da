// The workerd suite: tests run INSIDE workerd (@cloudflare/vitest-pool-workers) against the real
// wrangler.toml, with the Hyperdrive binding pointed at a fresh database on the local PostgreSQL that
// global-setup.ts (Node side) created, migrated and seeded.
import { fileURLToPath } from 'node:url';
import { cloudflareTest } from '@cloudflare/vitest-pool-workers';
import { defineConfig } from 'vitest/config';

const root = fileURLToPath(new URL('../..', import.meta.url));

export default defineConfig({
  root,
  plugins: [
    cloudflareTest(({ inject }) => ({
      wrangler: { configPath: './wrangler.toml' },
      miniflare: {
        // Overrides the localConnectionString of wrangler.toml with this run's database.
        hyperdrives: { HYPERDRIVE: inject('workersDatabaseUrl') },
        // Options are offered only on watched networks. These tests are about the Worker, not a
        // chain: nodes nobody answers make the merchants' networks watched (their polls fail fast).
        bindings: {
          BITCOIN_REGTEST_RPC_URL: 'http://u:p@127.0.0.1:9',
          LITECOIN_REGTEST_RPC_URL: 'http://u:p@127.0.0.1:9',
          BITCOIN_TESTNET4_RPC_URL: 'http://u:p@127.0.0.1:9',
        },
      },
    })),
  ],
  test: {
    include: ['test/workers/**/*.test.ts'],
    globalSetup: ['test/workers/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
