// `npm run sandbox:pay -- <invoiceId>`, its default path (no --option), paying Litecoin: against a
// real gateway (`src/node.ts`, as `npm start` runs it) whose sandbox chains include litecoind. The
// invoice offers only LTC, so the default path picks it; it pays from the sandbox wallet, mines the
// confirmations the merchant's speed policy needs and returns once the gateway says `settled`.
// Without litecoind the file is skipped and says why (REQUIRE_LITECOIND=1 or CI: it fails instead).
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../sandbox/litecoin';
import { litecoindAvailable } from '../helpers/litecoind';

const ROOT = join(import.meta.dirname, '../..');
const withLitecoind = litecoindAvailable();

let dataDir: string;
let port: number;
let gateway: ChildProcess | undefined;
let output = '';

function env(): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = {
    ...process.env,
    NETWORK_MODE: 'sandbox',
    DATA_DIR: dataDir,
    PORT: String(port),
    LOG_LEVEL: 'warn',
    DASHBOARD_SCRYPT_LOG_N: '10',
    REGULATOR_SCRYPT_LOG_N: '10',
  };
  delete e['DATABASE_URL'];
  delete e['PUBLIC_URL'];
  return e;
}

async function run(script: string, args: string[]): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { cwd: ROOT, env: env() });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, out };
}

describe.skipIf(!withLitecoind)('sandbox:pay, default path, Litecoin', () => {
  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'alatau-pay-ltc-'));
    port = await freePort();
    gateway = spawn(process.execPath, ['--import', 'tsx', 'src/node.ts'], { cwd: ROOT, env: env() });
    gateway.stdout?.on('data', (d) => (output += d));
    gateway.stderr?.on('data', (d) => (output += d));
    const deadline = Date.now() + 240_000;
    for (;;) {
      if (gateway.exitCode !== null) throw new Error(`the gateway exited:\n${output}`);
      if (Date.now() > deadline) throw new Error(`the gateway is not ready after 240 s:\n${output}`);
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ready && /litecoind: started/.test(output)) break;
      await new Promise((r) => setTimeout(r, 250));
    }
  }, 300_000);

  afterAll(async () => {
    if (gateway && gateway.exitCode === null) {
      const exited = once(gateway, 'exit');
      gateway.kill('SIGTERM');
      await exited;
    }
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }, 60_000);

  it('pays the invoice from the sandbox wallet, mines what the speed policy needs, and sees it settled', async () => {
    const base = `http://127.0.0.1:${port}`;
    const merchantId = /merchant: +(mer_\w+)/.exec(output)?.[1];
    const apiKey = /API key: +(sk_test_\w+)/.exec(output)?.[1];
    expect(merchantId, output).toBeDefined();
    // LTC only, and 6 confirmations before settled: the default path has to pick LTC and mine.
    const settings = await run('src/cli.ts', [
      'merchant',
      'settings',
      '--id',
      merchantId!,
      '--options',
      'LTC@litecoin-regtest',
      '--speed-policy',
      'low',
    ]);
    expect(settings.code, settings.out).toBe(0);
    const created = await fetch(`${base}/v1/invoices`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ amount: '15000.00', currency: 'KZT' }),
    });
    expect(created.status).toBe(201);
    const invoice = (await created.json()) as { id: string; paymentOptions: { option: string }[] };
    expect(invoice.paymentOptions.map((o) => o.option)).toEqual(['LTC@litecoin-regtest']);

    const pay = await run('sandbox/pay.ts', [invoice.id]);
    expect(pay.code, pay.out).toBe(0);
    expect(pay.out).toMatch(
      /mined \d+ block\(s\) on litecoin-regtest \(the merchant's speed policy needs 6\)/,
    );
    expect(pay.out).toContain(`invoice ${invoice.id}: settled`);

    const read = await fetch(`${base}/v1/invoices/${invoice.id}`, {
      headers: { authorization: `Bearer ${apiKey}` },
    });
    const body = (await read.json()) as {
      status: string;
      payments: { option: string; txid: string; confirmations: number }[];
    };
    expect(body.status).toBe('settled');
    expect(body.payments).toHaveLength(1);
    expect(body.payments[0]).toMatchObject({ option: 'LTC@litecoin-regtest' });
    expect(body.payments[0]!.confirmations).toBeGreaterThanOrEqual(6);
  }, 300_000);
});
