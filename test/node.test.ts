// `npm start` as a newcomer runs it (SPEC section 2): one process, a fresh DATA_DIR, the embedded
// database, the sandbox chains as children; the CLI beside it; nothing left behind when it stops.
// And chains started after the gateway are picked up without a restart.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../sandbox/litecoin';
import { litecoindAvailable } from './helpers/litecoind';

const ROOT = join(import.meta.dirname, '..');

interface Proc {
  readonly child: ChildProcess;
  out: string;
}

const running: Proc[] = [];
const dirs: string[] = [];

function env(dataDir: string, port: number, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = {
    ...process.env,
    NETWORK_MODE: 'sandbox',
    DATA_DIR: dataDir,
    PORT: String(port),
    LOG_LEVEL: 'warn',
    DASHBOARD_SCRYPT_LOG_N: '10',
    REGULATOR_SCRYPT_LOG_N: '10',
    ...extra,
  };
  // The embedded database: what the CLI has to share with the running gateway.
  delete e['DATABASE_URL'];
  delete e['PUBLIC_URL'];
  return e;
}

function start(script: string, e: NodeJS.ProcessEnv, args: string[] = []): Proc {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { cwd: ROOT, env: e });
  const p: Proc = { child, out: '' };
  child.stdout?.on('data', (d) => (p.out += d));
  child.stderr?.on('data', (d) => (p.out += d));
  running.push(p);
  return p;
}

async function run(script: string, e: NodeJS.ProcessEnv, args: string[]) {
  const p = start(script, e, args);
  const [code] = (await once(p.child, 'exit')) as [number | null];
  return { code, out: p.out };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 240_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

async function ready(base: string, p: Proc): Promise<void> {
  await until('/readyz', async () => {
    if (p.child.exitCode !== null) throw new Error(`the gateway exited: ${p.out}`);
    return (await fetch(`${base}/readyz`)).ok || undefined;
  });
}

async function stop(p: Proc): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  const exited = once(p.child, 'exit');
  p.child.kill('SIGTERM');
  await exited;
}

/** Processes whose command line names this data directory (anvil's state file, litecoind's datadir). */
function processesUsing(dataDir: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmd.includes(dataDir) && /anvil|litecoind/.test(cmd)) found.push(`${pid} ${cmd}`);
    } catch {}
  }
  return found;
}

const rpc = async (url: string, method: string) => {
  const u = new URL(url);
  const auth: Record<string, string> = u.username
    ? { authorization: `Basic ${btoa(`${u.username}:${u.password}`)}` }
    : {};
  u.username = '';
  u.password = '';
  const res = await fetch(u, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...auth },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params: [] }),
  });
  return ((await res.json()) as { result: unknown }).result;
};

const createInvoice = async (base: string, apiKey: string) => {
  const res = await fetch(`${base}/v1/invoices`, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ amount: '15000.00', currency: 'KZT' }),
  });
  return {
    status: res.status,
    body: (await res.json()) as { id: string; paymentOptions: { option: string }[] },
  };
};

const apiKeyOf = (out: string) => /API key: +(sk_test_\w+)/.exec(out)?.[1];

afterEach(async () => {
  await Promise.all(running.splice(0).map(stop));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const withLitecoind = litecoindAvailable();

describe('npm start', () => {
  it('starts the chains, offers only watched options, lets the CLI in, and leaves nothing behind', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'alatau-start-'));
    dirs.push(dataDir);
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const gw = start('src/node.ts', env(dataDir, port));
    await ready(base, gw);
    expect(gw.out).toMatch(/database .*embedded PostgreSQL/);
    expect(gw.out).toMatch(/migrations/);
    expect(gw.out).toMatch(/chains .*anvil: started/);
    expect(gw.out).toMatch(/ready .*listening/);
    // The database is on its owner-only Unix socket, not on a port: no fallback was announced.
    expect(gw.out).not.toMatch(/loopback port/);
    const socketPath = join(dataDir, 'run', '.s.PGSQL.5432');
    expect(statSync(socketPath).isSocket()).toBe(true);
    expect(statSync(socketPath).mode & 0o777).toBe(0o600);
    expect(statSync(join(dataDir, 'run')).mode & 0o777).toBe(0o700);
    expect(JSON.parse(readFileSync(join(dataDir, 'pg.socket.json'), 'utf8'))).toMatchObject({
      path: socketPath,
    });

    const sandbox = JSON.parse(readFileSync(join(dataDir, 'sandbox.json'), 'utf8'));
    expect(sandbox.owner).toMatchObject({ by: 'npm start', pid: gw.child.pid });
    expect(await rpc(sandbox.evm.anvil.rpcUrl, 'eth_chainId')).toBe('0x7a69');
    expect(sandbox.evm.anvil.rpcUrl).not.toBe('http://127.0.0.1:8545');
    if (withLitecoind) {
      expect(sandbox.utxo?.['litecoin-regtest'], gw.out).toBeDefined();
      expect(await rpc(sandbox.utxo['litecoin-regtest'].rpcUrl, 'getblockcount')).toBeGreaterThan(0);
    }

    const apiKey = apiKeyOf(gw.out)!;
    const inv = await createInvoice(base, apiKey);
    expect(inv.status).toBe(201);
    const options = inv.body.paymentOptions.map((o) => o.option);
    expect(options).toContain('ETH@anvil');
    if (withLitecoind) expect(options).toContain('LTC@litecoin-regtest');
    expect(options).not.toContain('BTC@bitcoin-regtest');

    // The CLI, while the gateway holds the embedded database, through its database socket.
    const cli = await run('src/cli.ts', env(dataDir, port), [
      'merchant',
      'create',
      '--name',
      'Beside',
      '--json',
    ]);
    expect(cli.out).not.toContain('open in another process');
    expect(cli.code).toBe(0);
    const made = JSON.parse(cli.out.slice(cli.out.indexOf('{'))) as { apiKey: string };
    // And the gateway sees what the CLI wrote.
    const theirs = await fetch(`${base}/v1/invoices?limit=1`, {
      headers: { authorization: `Bearer ${made.apiKey}` },
    });
    expect(theirs.status).toBe(200);

    expect(processesUsing(dataDir).length).toBeGreaterThan(0);
    await stop(gw);
    expect(gw.child.exitCode).toBe(0);
    expect(processesUsing(dataDir)).toEqual([]);
    expect(readdirSync(dataDir)).not.toContain('pg.socket.json');
    expect(readdirSync(join(dataDir, 'run'))).toEqual([]);
  }, 420_000);

  it('a DATA_DIR too deep for a socket path: the database goes on loopback TCP, said once, and the CLI still gets in', async () => {
    const base = mkdtempSync(join(tmpdir(), 'alatau-deep-'));
    dirs.push(base);
    const dataDir = join(base, 'a-rather-long-directory-name'.repeat(4));
    mkdirSync(dataDir, { recursive: true });
    const port = await freePort();
    const gw = start('src/node.ts', env(dataDir, port, { SANDBOX_CHAINS: 'false' }));
    await ready(`http://127.0.0.1:${port}`, gw);
    expect(
      gw.out.match(/database .*on a loopback port, not a socket only you can reach: .*bytes/g),
    ).toHaveLength(1);
    expect(JSON.parse(readFileSync(join(dataDir, 'pg.socket.json'), 'utf8'))).toMatchObject({
      port: expect.any(Number),
    });
    const cli = await run('src/cli.ts', env(dataDir, port), [
      'merchant',
      'create',
      '--name',
      'Deep',
      '--json',
    ]);
    expect(cli.code, cli.out).toBe(0);
    await stop(gw);
    expect(gw.child.exitCode).toBe(0);
    expect(readdirSync(dataDir)).not.toContain('pg.socket.json');
  }, 300_000);

  it('Ctrl-C in the middle of the start stops the chains started so far, and the next start works', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'alatau-interrupted-'));
    dirs.push(dataDir);
    const port = await freePort();
    const first = start('src/node.ts', env(dataDir, port));
    // Interrupted once anvil runs, before the gateway is ready (its graceful shutdown is not in place).
    await until('anvil', async () => (/anvil: started/.test(first.out) ? true : undefined));
    const exited = once(first.child, 'exit');
    first.child.kill('SIGINT');
    const [code] = (await exited) as [number | null];
    expect(code, first.out).toBe(130);
    expect(first.out).not.toMatch(/ready .*listening/);
    await until(
      'the chains stopped',
      async () => (processesUsing(dataDir).length === 0 ? true : undefined),
      20_000,
    );

    const again = start('src/node.ts', env(dataDir, port));
    await ready(`http://127.0.0.1:${port}`, again);
    expect(again.out).toMatch(/chains .*anvil: started/);
  }, 300_000);

  it.skipIf(!withLitecoind)(
    'picks up chains started after it, and credits a payment on them without a restart',
    async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'alatau-late-'));
      dirs.push(dataDir);
      const port = await freePort();
      const base = `http://127.0.0.1:${port}`;
      const gw = start('src/node.ts', env(dataDir, port, { SANDBOX_CHAINS: 'false' }));
      await ready(base, gw);
      const apiKey = apiKeyOf(gw.out)!;
      // No chain yet: nothing can be offered.
      expect((await createInvoice(base, apiKey)).status).toBe(422);

      const sb = start('sandbox/start.ts', env(dataDir, port, { SANDBOX_BLOCK_SECONDS: '0' }));
      await until('the sandbox', async () => (/sandbox ready/.test(sb.out) ? true : undefined));
      const inv = await until('LTC offered', async () => {
        const r = await createInvoice(base, apiKey);
        return r.status === 201 && r.body.paymentOptions.some((o) => o.option === 'LTC@litecoin-regtest')
          ? r.body
          : undefined;
      });
      const pay = await run('sandbox/pay.ts', env(dataDir, port), [
        inv.id,
        '--option',
        'LTC@litecoin-regtest',
        '--mine',
        '1',
      ]);
      expect(pay.code, pay.out).toBe(0);
      const credited = await until('the payment credited', async () => {
        const r = await fetch(`${base}/v1/invoices/${inv.id}`, {
          headers: { authorization: `Bearer ${apiKey}` },
        });
        const body = (await r.json()) as { status: string; amountPaid: string };
        return body.status !== 'new' ? body : undefined;
      });
      expect(['processing', 'settled']).toContain(credited.status);
      expect(gw.child.exitCode).toBeNull();
    },
    420_000,
  );
});
