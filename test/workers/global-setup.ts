// Node side of the workerd suite: a fresh database on the real PostgreSQL (PG_ADMIN_URL, else
// DATABASE_URL, else the local default), migrated, with one regtest and one testnet merchant, and a
// local stand-in for the four rate services serving their recorded answers. The workers tests get
// the connection string (as the Hyperdrive binding), the merchants' API keys and the rate server's
// URL through provide/inject.
import postgres from 'postgres';
import type { TestProject } from 'vitest/node';
import { createSql } from '../../src/db/client';
import { migrate } from '../../src/db/migrate';
import { createMerchant } from '../../src/merchants/repository';
import { DEMO_VPUB } from '../../src/seed';
import { fixture, json, startServer, xml } from '../rates/server';

declare module 'vitest' {
  export interface ProvidedContext {
    workersDatabaseUrl: string;
    workersApiKey: string;
    workersTestnetApiKey: string;
    /** The recorded rate services; GET /requests answers the paths asked so far, as JSON. */
    workersRatesUrl: string;
  }
}

const DEFAULT_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

export default async function setup(project: TestProject) {
  const adminUrl = process.env.PG_ADMIN_URL || process.env.DATABASE_URL || DEFAULT_ADMIN_URL;
  const name = `alatau_workers_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`create database ${name}`);
  } catch (err) {
    await admin.end({ timeout: 1 });
    throw new Error(`the workerd suite needs PostgreSQL at ${new URL(adminUrl).host}: ${String(err)}`);
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  // Miniflare's Hyperdrive wants a password in the URL; a server that trusts local connections
  // never asks for it, so a placeholder is harmless there.
  if (!url.password) url.password = 'postgres';
  const drop = async () => {
    // The Worker never ends its clients, so their connections live until workerd stops. Miniflare's
    // local Hyperdrive proxy has no error handler on its sockets: terminating them from the server
    // side (drop … with (force)) while it still pipes them crashes vitest with ECONNRESET. So wait
    // until workerd's shutdown has closed them, and force only as a last resort.
    for (let i = 0; i < 100 && (await openConnections(admin, name)) > 0; i++) await sleep(100);
    await admin
      .unsafe(`drop database if exists ${name}`)
      .catch(() => admin.unsafe(`drop database if exists ${name} with (force)`))
      .catch(() => {});
    await admin.end({ timeout: 5 });
  };
  const rates = await startRatesServer();
  project.provide('workersRatesUrl', rates.baseUrl);
  const stopRates = () => rates.close();
  const sql = createSql(url.toString(), { max: 2 });
  try {
    await migrate(sql);
    const { apiKey } = await createMerchant(
      sql,
      {
        name: 'Workers Test Café',
        mode: 'test',
        xpubs: { 'bitcoin-regtest': DEMO_VPUB, 'litecoin-regtest': DEMO_VPUB },
      },
      'test',
    );
    const testnet = await createMerchant(
      sql,
      { name: 'Workers Testnet Café', mode: 'test', xpubs: { 'bitcoin-testnet4': DEMO_VPUB } },
      'test',
    );
    project.provide('workersDatabaseUrl', url.toString());
    project.provide('workersApiKey', apiKey.apiKey);
    project.provide('workersTestnetApiKey', testnet.apiKey.apiKey);
  } catch (err) {
    await sql.end({ timeout: 5 });
    await drop();
    await stopRates();
    throw err;
  }
  await sql.end({ timeout: 5 });
  return async () => {
    await drop();
    await stopRates();
  };
}

/** The recorded answers; the bank's dated endpoint answers for whatever day is asked (rates stay fresh). */
async function startRatesServer() {
  const server = await startServer((url) => {
    const p = url.pathname;
    if (p === '/requests') return json(JSON.stringify(server.requests.filter((r) => r !== '/requests')));
    if (p === '/nbk/rss/get_rates.cfm') {
      const day = url.searchParams.get('fdate') ?? '';
      return xml(
        fixture('nbk-get_rates-31.07.2026.xml').replace('<date>31.07.2026</date>', `<date>${day}</date>`),
      );
    }
    if (p === '/binance/api/v3/ticker/price') return json(fixture('binance-ticker-price-symbols.json'));
    if (p === '/kraken/0/public/Ticker') {
      const pair = url.searchParams.get('pair') ?? '';
      return /^[A-Z]{6,8}$/.test(pair) ? recorded(`kraken-ticker-${pair}.json`) : undefined;
    }
    if (p === '/cg/api/v3/simple/price') return json(fixture('coingecko-simple-price.json'));
    return undefined;
  });
  return server;
}

function recorded(name: string) {
  try {
    return json(fixture(name));
  } catch {
    return undefined; // not recorded: 404
  }
}

async function openConnections(admin: postgres.Sql, database: string): Promise<number> {
  const [row] = await admin<{ n: number }[]>`
    select count(*)::int as n from pg_stat_activity where datname = ${database}`;
  return row?.n ?? 0;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
