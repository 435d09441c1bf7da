// Helpers for the webhook tests: merchants with keys of their own, and "other processes".
import { HDKey } from '@scure/bip32';
import { createSql, type Sql } from '../../src/db/client';
import { silentLogger } from '../../src/lib/log';
import { createMerchant } from '../../src/merchants/repository';
import { createRatesService } from '../../src/rates/aggregate';
import { createFixedSource } from '../../src/rates/sources/fixed';
import { createServices, type Services } from '../../src/services';
import { usingRealPostgres } from '../helpers/db';
import type { TestContext } from '../helpers/services';

/** A fresh regtest account key, so each test merchant derives addresses no other merchant has. */
export function randomTpub(): string {
  const seed = crypto.getRandomValues(new Uint8Array(32));
  return HDKey.fromMasterSeed(seed, { private: 0x04358394, public: 0x043587cf }).derive("m/84'/1'/0'")
    .publicExtendedKey;
}

/** A sandbox merchant with its own keys and its API key. */
export async function webhookMerchant(ctx: TestContext): Promise<{ id: string; key: string }> {
  const { merchant, apiKey } = await createMerchant(ctx.db.sql, {
    name: 'Webhook Shop',
    mode: 'test',
    xpubs: { 'bitcoin-regtest': randomTpub() },
  });
  return { id: merchant.id, key: apiKey.apiKey };
}

/**
 * New services, as another process would build them. On PostgreSQL they get a connection pool of
 * their own (`pool` is set, to be ended by the caller). The embedded database supports exactly one
 * connection (src/boot.ts EMBEDDED_POOL_MAX), so there they share the test's pool.
 */
export function otherProcess(ctx: TestContext, max = 2): { services: Services; pool?: Sql } {
  const pool = usingRealPostgres() ? createSql(ctx.db.url, { max }) : undefined;
  const services = createServices(
    ctx.config,
    pool ?? ctx.db.sql,
    {
      logger: silentLogger,
      rates: createRatesService({ sources: [createFixedSource()], maxAgeMs: 60_000, cacheTtlMs: 0 }),
    },
    { offerUnwatched: true },
  );
  return pool ? { services, pool } : { services };
}
