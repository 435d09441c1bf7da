// Where a Workers request's time goes: `npx tsx bench/workers-trace.ts` runs the Workers bench's
// requests (bench/workers.ts: the same database setup, the same wrangler dev) with a wire probe
// (lib/pgwire-probe.ts) between both sides and PostgreSQL, and prints per operation the medians of:
// total time, when the Worker opened its connection, how long startup + auth took, how many
// statements and round trips ran, and the time after the last database answer. VERBOSE=1 prints
// every message. The probe adds a loopback hop to every round trip on both sides, so its totals run
// higher than the bench's; the counts are exact. Diagnostic only: not part of `npm run bench`.
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { createApp } from '../src/app';
import { loadConfig } from '../src/config';
import { createSql } from '../src/db/client';
import { migrate } from '../src/db/migrate';
import { silentLogger } from '../src/lib/log';
import { createMerchant } from '../src/merchants/repository';
import { DEMO_VPUB } from '../src/seed';
import { createServices } from '../src/services';
import { openBenchDatabase } from './lib/database';
import { startWireProbe } from './lib/pgwire-probe';
import { startWranglerDev, WATCHED } from './workers';

interface Sample {
  total: number;
  /** From sending the request to the first byte on a new connection (Workers). */
  open?: number;
  /** Startup message to the first ReadyForQuery. */
  connect?: number;
  statements: number;
  /** Parse/Query messages: statements not yet prepared on their connection. */
  parses: number;
  roundTrips: number;
  /** Last database answer to the end of the response body. */
  tail?: number;
}

const rounds = Number(process.env.ROUNDS ?? 10);
const db = await openBenchDatabase({ maxConnections: 20 });
const probe = await startWireProbe({ host: '127.0.0.1', port: 5432 });
const viaProbe = new URL(db.url);
viaProbe.port = String(probe.port);
const config = loadConfig({
  NETWORK_MODE: 'sandbox',
  LOG_LEVEL: 'silent',
  DATABASE_URL: viaProbe.toString(),
  ...WATCHED,
});
const admin = createSql(db.url);
await migrate(admin);
const { apiKey } = await createMerchant(admin, {
  name: 'Trace Café',
  mode: 'test',
  xpubs: { 'bitcoin-regtest': DEMO_VPUB, 'litecoin-regtest': DEMO_VPUB },
});
const sql = createSql(viaProbe.toString());
const app = createApp(config, createServices(config, sql, { logger: silentLogger }));
const nodeServer = await new Promise<{ url: string; close: () => void }>((resolve) => {
  const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info: AddressInfo) =>
    resolve({ url: `http://127.0.0.1:${info.port}`, close: () => s.close() }),
  );
});
const wrangler = await startWranglerDev(viaProbe.toString());
const auth = { authorization: `Bearer ${apiKey.apiKey}` };
const samples = new Map<string, Sample[]>();

function sample(since: number, end: number): Sample {
  const s: Sample = { total: end - since, statements: 0, parses: 0, roundTrips: 0 };
  let lastAnswer = 0;
  for (const c of probe.connections) {
    const evs = c.events.filter((e) => e.t >= since && e.t <= end);
    if (evs.length === 0) continue;
    if (c.openedAt >= since) {
      s.open = evs[0]!.t - since;
      s.connect = (c.readyAt ?? Number.NaN) - evs[0]!.t;
    }
    s.statements += evs.filter((e) => e.dir === 'c' && e.type === 'E').length;
    s.parses += evs.filter((e) => e.dir === 'c' && (e.type === 'P' || e.type === 'Q')).length;
    // A round trip: the client waits for ReadyForQuery (startup included), or for a describe's answer
    // after Flush (a statement's first run on its connection).
    s.roundTrips += evs.filter(
      (e) => (e.dir === 's' && e.type === 'Z') || (e.dir === 'c' && e.type === 'H'),
    ).length;
    lastAnswer = Math.max(lastAnswer, evs.at(-1)!.t);
    if (process.env.VERBOSE)
      for (const e of evs)
        if (e.dir === 'c' || e.type !== 'D')
          console.log(`  +${(e.t - since).toFixed(1)} ${e.dir} ${e.type} ${e.text ?? ''}`);
  }
  if (lastAnswer) s.tail = end - lastAnswer;
  return s;
}

async function timed(side: string, op: string, url: string, init: RequestInit = {}, record = true) {
  const since = performance.now();
  const res = await fetch(url, init);
  const body = await res.text();
  const end = performance.now();
  // Let the probe see a Worker's connection close before the next request.
  await new Promise((r) => setTimeout(r, 20));
  if (!res.ok) throw new Error(`${side} ${op}: HTTP ${res.status} ${body.slice(0, 200)}`);
  if (process.env.VERBOSE) console.log(`${side} ${op} ${(end - since).toFixed(1)} ms`);
  const s = sample(since, end);
  if (record) samples.set(`${side} ${op}`, [...(samples.get(`${side} ${op}`) ?? []), s]);
  return body;
}

for (let i = 0; i < rounds + 2; i++) {
  const record = i >= 2;
  for (const [side, base] of [
    ['node', nodeServer.url],
    ['workers', wrangler.url],
  ] as const) {
    const created = await timed(
      side,
      'create',
      `${base}/v1/invoices`,
      {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ amount: '15000.00', currency: 'KZT' }),
      },
      record,
    );
    const { id } = JSON.parse(created) as { id: string };
    await timed(side, 'read', `${base}/v1/invoices/${id}`, { headers: auth }, record);
    await timed(side, 'checkout', `${base}/pay/${id}`, {}, record);
    await timed(side, 'healthz', `${base}/healthz`, {}, record);
    await timed(side, 'readyz', `${base}/readyz`, {}, record);
  }
}

const median = (xs: (number | undefined)[]) => {
  const v = xs.filter((x): x is number => x !== undefined && !Number.isNaN(x)).sort((a, b) => a - b);
  return v.length ? v[Math.floor(v.length / 2)]! : undefined;
};
const f = (x: number | undefined) => (x === undefined ? '' : x.toFixed(1));
console.log(`\n${rounds} rounds, medians (ms); statements = Execute messages, parses = not yet prepared`);
console.log('| side op | total | open | connect | statements | parses | round trips | tail |');
console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
for (const [k, ss] of samples) {
  console.log(
    `| ${k} | ${f(median(ss.map((s) => s.total)))} | ${f(median(ss.map((s) => s.open)))} | ${f(median(ss.map((s) => s.connect)))} | ${median(ss.map((s) => s.statements))} | ${median(ss.map((s) => s.parses))} | ${median(ss.map((s) => s.roundTrips))} | ${f(median(ss.map((s) => s.tail)))} |`,
  );
}
await wrangler.stop();
nodeServer.close();
await sql.end({ timeout: 1 });
await admin.end({ timeout: 1 });
await probe.close();
await db.close();
process.exit(0);
