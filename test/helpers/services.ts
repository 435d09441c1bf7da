// Services and an app for tests, on a fresh database, with the fixed sandbox rates unless replaced.
import { HDKey } from '@scure/bip32';
import { createApp } from '../../src/app';
import { type Config, loadConfig } from '../../src/config';
import { silentLogger } from '../../src/lib/log';
import { createMerchant, type MerchantInput } from '../../src/merchants/repository';
import { createRatesService } from '../../src/rates/aggregate';
import { createFixedSource } from '../../src/rates/sources/fixed';
import { DEMO_VPUB, seedDemo } from '../../src/seed';
import { createServices, type Services } from '../../src/services';
import { freshDatabase, type TestDatabase } from './db';

export { DEMO_VPUB, seedDemo };

export interface TestContext {
  readonly db: TestDatabase;
  readonly config: Config;
  readonly services: Services;
  readonly app: ReturnType<typeof createApp>;
  close(): Promise<void>;
}

export async function createTestContext(
  env: Record<string, string> = {},
  overrides: Partial<Omit<Services, 'config' | 'sql'>> = {},
): Promise<TestContext> {
  const db = await freshDatabase();
  const config = loadConfig({
    NETWORK_MODE: 'sandbox',
    PUBLIC_URL: 'http://gateway.test',
    LOG_LEVEL: 'silent',
    ...env,
  });
  const services = createServices(
    config,
    db.sql,
    {
      logger: silentLogger,
      rates: createRatesService({ sources: [createFixedSource()], maxAgeMs: 60_000, cacheTtlMs: 0 }),
      ...overrides,
    },
    // Most tests create invoices without a node behind them (or inject their own backends).
    { offerUnwatched: true },
  );
  const app = createApp(config, services);
  return { db, config, services, app, close: () => db.close() };
}

/** A fresh watch-only account key (tpub at m/84'/1'/0') of a random wallet: every merchant its own. */
export function randomAccountKey(): string {
  const seed = crypto.getRandomValues(new Uint8Array(32));
  const testnet = { private: 0x04358394, public: 0x043587cf };
  return HDKey.fromMasterSeed(seed, testnet).derive("m/84'/1'/0'").publicExtendedKey;
}

/** A sandbox merchant with regtest keys of its own random wallet, and its API key. */
export async function createTestMerchant(ctx: TestContext, input: Partial<MerchantInput> = {}) {
  const key = randomAccountKey();
  return createMerchant(ctx.db.sql, {
    name: 'Test Shop',
    mode: 'test',
    xpubs: { 'bitcoin-regtest': key, 'litecoin-regtest': key },
    ...input,
  });
}

export function jsonRequest(
  apiKey: string | undefined,
  body?: unknown,
  headers: Record<string, string> = {},
): RequestInit {
  return {
    method: body === undefined ? 'GET' : 'POST',
    headers: {
      ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  };
}
