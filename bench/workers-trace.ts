// Scratch: per-request wire trace of the Workers and Node sides (connections, round trips, statements).
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
import { startWireProbe, type WireConnection } from './lib/pgwire-probe';
import { startWranglerDev, WATCHED } from './workers';

import { createServer } from 'node:http';
const rpcHits: number[] = [];
const rpcServer = createServer((req, res) => {
  rpcHits.push(performance.now());
  req.resume();
  req.on('end', () => { res.writeHead(503, { 'content-type': 'text/plain' }); res.end('down'); });
});
await new Promise<void>((r) => rpcServer.listen(0, '127.0.0.1', () => r()));
const rpcUrl = `http://u:p@127.0.0.1:${(rpcServer.address() as AddressInfo).port}`;
const W = process.env.FAKE_RPC ? { ...WATCHED, BITCOIN_REGTEST_RPC_URL: rpcUrl, LITECOIN_REGTEST_RPC_URL: rpcUrl } : WATCHED;
const db = await openBenchDatabase({ maxConnections: 20 });
const probe = await startWireProbe({ host: '127.0.0.1', port: 5432 });
const viaProbe = new URL(db.url);
viaProbe.port = String(probe.port);
const config = loadConfig({ NETWORK_MODE: 'sandbox', LOG_LEVEL: 'silent', DATABASE_URL: viaProbe.toString(), ...W });
const admin = createSql(db.url);
await migrate(admin);
const { apiKey } = await createMerchant(admin, { name: 'Probe', mode: 'test', xpubs: { 'bitcoin-regtest': DEMO_VPUB, 'litecoin-regtest': DEMO_VPUB } });
const sql = createSql(viaProbe.toString());
const app = createApp(config, createServices(config, sql, { logger: silentLogger }));
const node = await new Promise<string>((resolve) => {
  serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info: AddressInfo) => resolve(`http://127.0.0.1:${info.port}`));
});
const wrangler = await startWranglerDev(viaProbe.toString(), W);
const auth = { authorization: `Bearer ${apiKey.apiKey}` };
const rounds = Number(process.env.ROUNDS ?? 5);

function describe(conns: WireConnection[], since: number, t0: number) {
  const lines: string[] = [];
  for (const c of probe.connections) {
    const evs = c.events.filter((e) => e.t >= since);
    if (evs.length === 0) continue;
    const z = evs.filter((e) => e.dir === 's' && e.type === 'Z').length;
    const parses = evs.filter((e) => e.dir === 'c' && (e.type === 'P' || e.type === 'Q'));
    const execs = evs.filter((e) => e.dir === 'c' && e.type === 'E').length;
    const opened = c.openedAt >= since ? `opened +${(c.openedAt - t0).toFixed(1)} ready +${((c.readyAt ?? NaN) - t0).toFixed(1)}` : 'reused';
    lines.push(`    conn ${c.id}: ${opened}; ${z} ReadyForQuery, ${execs} Execute, ${parses.length} Parse/Query; first +${(evs[0]!.t - t0).toFixed(1)} last +${(evs.at(-1)!.t - t0).toFixed(1)}`);
    if (process.env.VERBOSE) for (const e of evs) if (e.type !== 'D' && e.type !== 'S' || e.dir === 'c') lines.push(`      +${(e.t - t0).toFixed(1)} ${e.dir} ${e.type} ${e.text ?? ''}`);
  }
  void conns;
  return lines.join('\n');
}

async function timed(name: string, side: string, url: string, init: RequestInit = {}) {
  const since = performance.now();
  const res = await fetch(url, init);
  const body = await res.text();
  const t = performance.now() - since;
  const hits = rpcHits.filter((h) => h >= since).map((h) => `+${(h - since).toFixed(1)}`);
  if (hits.length) console.log(`  rpc hits ${hits.join(' ')}`);
  await new Promise((r) => setTimeout(r, 30));
  if (process.env.QUIET !== '1' || name !== 'x') console.log(`${side} ${name}: ${res.status} ${t.toFixed(1)} ms\n${describe(probe.connections, since, since)}`);
  return body;
}

for (let i = 0; i < rounds; i++) {
  for (const [side, base] of [['node', node], ['workers', wrangler.url]] as const) {
    const created = await timed('create', side, `${base}/v1/invoices`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ amount: '15000.00', currency: 'KZT' }) });
    const { id } = JSON.parse(created) as { id: string };
    await timed('read', side, `${base}/v1/invoices/${id}`, { headers: auth });
    await timed('checkout', side, `${base}/pay/${id}`);
    await timed('healthz', side, `${base}/healthz`);
    await timed('readyz', side, `${base}/readyz`);
  }
}
await wrangler.stop();
await sql.end({ timeout: 1 });
await admin.end({ timeout: 1 });
await probe.close();
await db.close();
process.exit(0);
