// Litecoin Core (Debian's `litecoind`, 0.21) in regtest: the sandbox chain of the UTXO side and the
// node the tests run against (DESIGN section 4: Bitcoin Core is not packaged here; Litecoin Core is a
// fork with the same RPC and transaction format). Started on 127.0.0.1 only, with -txindex so the
// watcher can name the senders of transactions it first sees in a block.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import { createRpcClient, RPC_CODES, type RpcClient, RpcError } from '../src/chains/utxo/backends/rpc';
import { readSandboxUtxo, writeSandboxUtxo } from '../src/chains/utxo/backends/sandbox-file';
import { randomHex } from '../src/lib/ids';
import { createEsploraFacade } from './esplora';

export interface LitecoindOptions {
  readonly dataDir: string;
  readonly rpcPort?: number;
  readonly p2pPort?: number;
  readonly rpcUser?: string;
  readonly rpcPassword?: string;
  readonly extraArgs?: readonly string[];
  readonly binary?: string;
  readonly readyTimeoutMs?: number;
}

export interface LitecoindNode {
  /** With credentials: `http://user:password@127.0.0.1:port`. */
  readonly rpcUrl: string;
  readonly rpcPort: number;
  readonly p2pPort: number;
  readonly dataDir: string;
  readonly rpc: RpcClient;
  readonly process: ChildProcess;
  /**
   * Shuts down cleanly (SIGTERM). Core then waits for idle keep-alive RPC connections to close
   * (about 4 s with Node's fetch); `kill` skips that for throw-away nodes (tests).
   */
  stop(opts?: { kill?: boolean }): Promise<void>;
}

/** The litecoind binary: `LITECOIND_BIN`, else `litecoind` on the PATH; undefined when absent. */
export function findLitecoind(): string | undefined {
  const fromEnv = process.env['LITECOIND_BIN'];
  if (fromEnv) return existsSync(fromEnv) ? fromEnv : undefined;
  try {
    return execFileSync('sh', ['-c', 'command -v litecoind'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (address === null || typeof address === 'string') throw new Error('could not get a free port');
  return address.port;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function stopProcess(child: ChildProcess, timeoutMs = 15_000, kill = false): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill(kill ? 'SIGKILL' : 'SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  await exited;
  clearTimeout(timer);
}

/** Starts litecoind -regtest and waits until its RPC answers. */
export async function startLitecoind(options: LitecoindOptions): Promise<LitecoindNode> {
  const binary = options.binary ?? findLitecoind();
  if (!binary)
    throw new Error('litecoind is not installed (apt-get install litecoind, or set LITECOIND_BIN)');
  mkdirSync(options.dataDir, { recursive: true });
  const user = options.rpcUser ?? 'alatau';
  const password = options.rpcPassword ?? 'alatau-regtest';
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const rpcPort = options.rpcPort ?? (await freePort());
    const p2pPort = options.p2pPort ?? (await freePort());
    const args = [
      '-regtest',
      `-datadir=${options.dataDir}`,
      '-server',
      '-daemon=0',
      '-printtoconsole=0',
      `-rpcport=${rpcPort}`,
      `-port=${p2pPort}`,
      '-rpcbind=127.0.0.1',
      '-rpcallowip=127.0.0.1',
      '-bind=127.0.0.1',
      `-rpcuser=${user}`,
      `-rpcpassword=${password}`,
      '-fallbackfee=0.0001',
      '-txindex=1',
      '-listenonion=0',
      '-discover=0',
      '-dnsseed=0',
      '-upnp=0',
      '-rpcworkqueue=64',
      // A wallet's first start derives the whole keypool (seconds for the default 1000 keys).
      '-keypool=20',
      // Litecoin Core ships with BIP125 replacement off; Bitcoin Core (and most of the network's
      // miners) replace opt-in transactions, which is what the gateway must handle.
      '-mempoolreplacement=1',
      ...(options.extraArgs ?? []),
    ];
    const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    // A parent that exits without stopping it (an error, process.exit) must not leave it behind.
    const killOnExit = () => child.kill('SIGKILL');
    process.once('exit', killOnExit);
    child.once('exit', () => process.removeListener('exit', killOnExit));
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const rpcUrl = `http://${user}:${password}@127.0.0.1:${rpcPort}`;
    const rpc = createRpcClient({ url: rpcUrl, timeoutMs: 5_000, retries: 0 });
    const deadline = Date.now() + (options.readyTimeoutMs ?? 30_000);
    let ready = false;
    while (Date.now() < deadline && child.exitCode === null) {
      try {
        await rpc.call('getblockcount');
        ready = true;
        break;
      } catch (err) {
        lastError = err;
        await sleep(err instanceof RpcError && err.rpcCode === RPC_CODES.warmup ? 100 : 150);
      }
    }
    if (ready) {
      const node: LitecoindNode = {
        rpcUrl,
        rpcPort,
        p2pPort,
        dataDir: options.dataDir,
        rpc: createRpcClient({ url: rpcUrl, timeoutMs: 30_000 }),
        process: child,
        stop: (opts) => stopProcess(child, 15_000, opts?.kill ?? false),
      };
      return node;
    }
    await stopProcess(child, 2_000);
    lastError = new Error(`litecoind did not start: ${stderr.trim() || String(lastError)}`);
    // A port taken between freePort() and bind: try again with new ports (only if we chose them).
    if (options.rpcPort !== undefined) break;
  }
  throw lastError instanceof Error ? lastError : new Error(String(lastError));
}

/** Loads the wallet, creating it on first use; returns a client for its RPC path. */
export async function ensureWallet(rpc: RpcClient, name: string): Promise<RpcClient> {
  const loaded = await rpc.call<string[]>('listwallets');
  if (!loaded.includes(name)) {
    try {
      await rpc.call('loadwallet', [name]);
    } catch (err) {
      if (!(err instanceof RpcError)) throw err;
      try {
        await rpc.call('createwallet', [name]);
      } catch (created) {
        // On a busy machine a timed-out loadwallet is retried while the first still runs: the wallet
        // then exists (or is loaded) by the time createwallet is tried.
        if (!(created instanceof RpcError)) throw created;
        if (!(await rpc.call<string[]>('listwallets')).includes(name)) {
          await rpc.call('loadwallet', [name]).catch(async (again: unknown) => {
            if (!(await rpc.call<string[]>('listwallets')).includes(name)) throw again;
          });
        }
      }
    }
  }
  return rpc.withPath(`/wallet/${encodeURIComponent(name)}`);
}

/** Litecoin regtest activates MWEB at this height (whatever -vbparams says). */
export const MWEB_ACTIVATION_HEIGHT = 432;

/** Blocks per generatetoaddress call: each call stays short even on a loaded machine. */
const MINE_CHUNK = 100;
/** A generatetoaddress call on a loaded machine can take long; it is never sent twice blindly. */
const MINE_TIMEOUT_MS = 120_000;

/** A timeout or a dropped connection: the node may have done it anyway (an RpcError is a refusal). */
const outcomeUnknown = (err: unknown) => !(err instanceof RpcError);

/** Waits until the height stops moving (a timed-out generatetoaddress the node is still working on). */
async function settledHeight(rpc: RpcClient): Promise<number> {
  let height = await rpc.call<number>('getblockcount');
  for (;;) {
    await sleep(1_000);
    const now = await rpc.call<number>('getblockcount');
    if (now === height) return now;
    height = now;
  }
}

/**
 * Mines to `address` until the chain is `target` blocks high; returns the new blocks' hashes. Never
 * repeats a generatetoaddress blindly: a call that times out may still be mining, and a repeat would
 * overshoot (past MWEB activation without a peg-in, the node then refuses the block). The height is
 * read again instead.
 */
async function mineTo(rpc: RpcClient, address: string, target: number): Promise<string[]> {
  const hashes: string[] = [];
  for (;;) {
    const height = await rpc.call<number>('getblockcount');
    if (height >= target) return hashes;
    const n = Math.min(MINE_CHUNK, target - height);
    try {
      hashes.push(
        ...(await rpc.call<string[]>('generatetoaddress', [n, address], {
          retry: false,
          timeoutMs: MINE_TIMEOUT_MS,
        })),
      );
    } catch (err) {
      if (!outcomeUnknown(err)) throw err;
      const reached = await settledHeight(rpc);
      // The blocks the timed-out call mined after all.
      for (let h = height + 1; h <= Math.min(reached, target); h++)
        hashes.push(await rpc.call<string>('getblockhash', [h]));
    }
  }
}

/**
 * Mines `blocks` blocks to a fresh address of `wallet`; returns their hashes. Litecoin's first MWEB
 * block needs a peg-in in the mempool (its HogEx transaction has nothing to spend otherwise, and
 * mining fails with bad-txns-vin-empty), so crossing that height goes through crossMweb.
 */
export async function mine(rpc: RpcClient, wallet: RpcClient, blocks: number): Promise<string[]> {
  const address = await wallet.call<string>('getnewaddress');
  const height = await rpc.call<number>('getblockcount');
  const target = height + blocks;
  const hashes: string[] = [];
  if (height < MWEB_ACTIVATION_HEIGHT && target >= MWEB_ACTIVATION_HEIGHT) {
    hashes.push(...(await mineTo(rpc, address, MWEB_ACTIVATION_HEIGHT - 2)));
    hashes.push(...(await crossMweb(rpc, wallet, address)));
  }
  hashes.push(...(await mineTo(rpc, address, target)));
  return hashes;
}

/**
 * From two blocks (or one) below MWEB activation to the activation block: a peg-in from a separate
 * wallet (`mweb`) to its own MWEB address, funded by the main wallet one block before. The main
 * wallet never holds MWEB coins, so its payments stay ordinary transactions (an MWEB-funded send
 * would become a peg-out paid only later, by a block's HogEx transaction). A chain left one block
 * below activation without a funded `mweb` wallet (a start cut short) steps back a block first:
 * from there the peg-in's funding could not confirm in time.
 */
async function crossMweb(rpc: RpcClient, wallet: RpcClient, minerAddress: string): Promise<string[]> {
  const sink = await ensureWallet(rpc, 'mweb');
  let height = await rpc.call<number>('getblockcount');
  const confirmed = async () => Number(await sink.call<unknown>('getbalance', ['*', 1])) >= 0.5;
  if (height === MWEB_ACTIVATION_HEIGHT - 1 && !(await confirmed())) {
    await rpc.call('invalidateblock', [await rpc.call<string>('getbestblockhash')]);
    height = await rpc.call<number>('getblockcount');
  }
  if (height === MWEB_ACTIVATION_HEIGHT - 2) {
    const plain = await sink.call<string>('getnewaddress');
    await wallet.call('sendtoaddress', { address: plain, amount: '1' }, { retry: false });
    await mineTo(rpc, minerAddress, MWEB_ACTIVATION_HEIGHT - 1);
  }
  const mweb = await sink.call<string>('getnewaddress', ['', 'mweb']);
  await sink.call('sendtoaddress', { address: mweb, amount: '0.5' }, { retry: false });
  return [
    ...(await rpc.call<string[]>('generatetoaddress', [1, minerAddress], {
      retry: false,
      timeoutMs: MINE_TIMEOUT_MS,
    })),
  ];
}

/**
 * Mines a chain of `height` blocks (default past MWEB activation, like Litecoin's main chain) and
 * until the wallet has at least `minCoins` spendable (coinbase outputs mature after 100 blocks).
 */
export async function fundWallet(
  rpc: RpcClient,
  wallet: RpcClient,
  minCoins = 100,
  height = MWEB_ACTIVATION_HEIGHT + 50,
): Promise<void> {
  const now = await rpc.call<number>('getblockcount');
  if (now < height) await mine(rpc, wallet, height - now);
  for (let i = 0; i < 20; i++) {
    const balance = await wallet.call<unknown>('getbalance');
    if (Number(balance) >= minCoins) return; // a rough funding check, never a payment amount
    await mine(rpc, wallet, 10);
  }
}

// ---------------------------------------------------------------------------------------------
// The sandbox node (`npm run sandbox`, `npm start`): persistent under DATA_DIR, free loopback ports,
// mining on a timer.

export const SANDBOX_WALLET = 'sandbox';
/** The Esplora facade's first sync starts this long after the node is ready. */
const FACADE_WARMUP_DELAY_MS = 5_000;
/** How to get litecoind where it is missing (Debian and Ubuntu package it). */
export const LITECOIND_INSTALL_HINT = 'apt-get install litecoind';

export interface SandboxLitecoinOptions {
  readonly dataDir: string;
  /** Seconds between blocks (default 10); 0 mines only on demand. */
  readonly blockSeconds?: number;
  /** Default: a free port (also for P2P and the Esplora facade). */
  readonly rpcPort?: number;
  readonly esploraPort?: number;
  readonly log?: (line: string) => void;
}

export interface SandboxLitecoin {
  readonly rpcUrl: string;
  readonly esploraUrl: string;
  readonly rpc: RpcClient;
  readonly wallet: RpcClient;
  mine(blocks?: number): Promise<string[]>;
  stop(): Promise<void>;
}

/**
 * Starts litecoind regtest in DATA_DIR/litecoind on free loopback ports, funds the `sandbox` wallet,
 * mines on a timer, serves the Esplora facade, and records both URLs in DATA_DIR/sandbox.json.
 * Undefined when litecoind is not installed (logged once, with the command that installs it).
 */
export async function startSandboxLitecoin(
  options: SandboxLitecoinOptions,
): Promise<SandboxLitecoin | undefined> {
  const log = options.log ?? (() => {});
  if (!findLitecoind()) {
    log(`litecoind: not installed, so no Litecoin sandbox (install it: ${LITECOIND_INSTALL_HINT})`);
    return undefined;
  }
  const dir = join(options.dataDir, 'litecoind');
  for (let attempt = 1; ; attempt++) {
    const known = readSandboxUtxo(options.dataDir)['litecoin-regtest'];
    const password = known ? new URL(known.rpcUrl).password : randomHex(16);
    // A node left running on this data directory by a start that was killed (its owner is gone,
    // or sandbox/chains.ts would have used it) holds the directory's lock: stop it first.
    if (await stopOrphanedNode(dir)) log(`litecoind: stopped a node left running on ${dir}`);
    let node: LitecoindNode | undefined;
    try {
      node = await startLitecoind({
        dataDir: dir,
        ...(options.rpcPort === undefined ? {} : { rpcPort: options.rpcPort }),
        rpcPassword: password,
        // A busy machine can take far longer than the default to bring a node up.
        readyTimeoutMs: 120_000,
      });
      log(`litecoind: started regtest at 127.0.0.1:${node.rpcPort} (data in ${dir})`);
      const ready = await prepareLitecoin(node, node.rpcUrl, options, log);
      writeFileSync(join(dir, SETUP_DONE_FILE), `${new Date().toISOString()}\n`);
      return ready;
    } catch (err) {
      await node?.stop();
      // A chain whose first setup never finished (a start killed or failed half way: a wallet
      // half created, mining stopped below MWEB activation) holds nothing anyone paid into yet:
      // it is rebuilt from scratch, once. One that finished is never thrown away.
      if (attempt > 1 || setupFinished(options.dataDir)) throw err;
      log(
        `litecoind: the regtest chain in ${dir} never finished its first setup (${(err as Error).message}); building it again`,
      );
      rmSync(join(dir, 'regtest'), { recursive: true, force: true });
    }
  }
}

/** Written into DATA_DIR/litecoind once the chain is mined and the wallet funded. */
const SETUP_DONE_FILE = 'sandbox-setup-done';

/** The chain finished its first setup: marked so, or recorded in sandbox.json (older sandboxes). */
function setupFinished(dataDir: string): boolean {
  return (
    existsSync(join(dataDir, 'litecoind', SETUP_DONE_FILE)) ||
    readSandboxUtxo(dataDir)['litecoin-regtest'] !== undefined
  );
}

const cmdlineOf = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');

/**
 * Stops an orphaned litecoind on `dir`: its pid file names a live litecoind whose command line has
 * this very data directory, and whose parent is gone (it was handed to init: its starter was killed).
 * One a live Node process started (a sandbox still starting, a test) is left alone. True if stopped.
 */
async function stopOrphanedNode(dir: string): Promise<boolean> {
  let pid: number;
  try {
    pid = Number(readFileSync(join(dir, 'regtest', 'bitcoind.pid'), 'utf8').trim());
    const cmdline = cmdlineOf(pid);
    if (!cmdline.some((a) => /litecoind$/.test(a)) || !cmdline.includes(`-datadir=${dir}`)) return false;
    const ppid = Number(/^PPid:\s*(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
    if (ppid !== 1 && cmdlineOf(ppid).some((a) => /(^|\/)node$/.test(a))) return false;
  } catch {
    return false;
  }
  const gone = () => !existsSync(`/proc/${pid}`);
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 150 && !gone(); i++) await sleep(100);
  if (!gone()) process.kill(pid, 'SIGKILL');
  for (let i = 0; i < 50 && !gone(); i++) await sleep(100);
  return true;
}

async function prepareLitecoin(
  node: LitecoindNode,
  rpcUrl: string,
  options: SandboxLitecoinOptions,
  log: (line: string) => void,
): Promise<SandboxLitecoin> {
  const rpc = createRpcClient({ url: rpcUrl, timeoutMs: 30_000 });
  const wallet = await ensureWallet(rpc, SANDBOX_WALLET);
  await fundWallet(rpc, wallet, 500);
  log(`litecoind: wallet "${SANDBOX_WALLET}" funded (height ${await rpc.call<number>('getblockcount')})`);

  const facade = createEsploraFacade({ rpc, network: 'litecoin-regtest' });
  // Each request syncs first anyway; this first sync (every block: seconds on a fresh chain) only
  // warms it up, so it waits until the start that launched it is over instead of slowing it down.
  let stopped = false;
  const warmUp = setTimeout(() => {
    facade.sync().catch((err) => {
      if (!stopped) log(`esplora facade: first sync failed: ${(err as Error).message}`);
    });
  }, FACADE_WARMUP_DELAY_MS);
  warmUp.unref();
  const esploraPort = options.esploraPort ?? (await freePort());
  const server = serve({ fetch: facade.app.fetch, port: esploraPort, hostname: '127.0.0.1' });
  const esploraUrl = `http://127.0.0.1:${esploraPort}`;
  log(
    `esplora facade: ${esploraUrl} (LITECOIN_REGTEST_ESPLORA_URL to use it instead of the node; UTXO_ESPLORA_RPS=0 polls every address every tick)`,
  );

  const file = writeSandboxUtxo(options.dataDir, 'litecoin-regtest', {
    rpcUrl,
    esploraUrl,
    wallet: SANDBOX_WALLET,
    startedAt: new Date().toISOString(),
  });
  log(`litecoin: written to ${file}`);

  const blockSeconds = options.blockSeconds ?? 10;
  let mining: Promise<unknown> = Promise.resolve();
  const mineNow = (blocks = 1) => {
    const run = mining.then(() => mine(rpc, wallet, blocks));
    mining = run.catch(() => undefined);
    return run;
  };
  const timer =
    blockSeconds > 0
      ? setInterval(() => {
          mineNow(1).catch((err) => log(`litecoind: mining failed: ${(err as Error).message}`));
        }, blockSeconds * 1000)
      : undefined;
  if (timer) log(`litecoind: a block every ${blockSeconds} s`);
  return {
    rpcUrl,
    esploraUrl,
    rpc,
    wallet,
    mine: mineNow,
    async stop() {
      stopped = true;
      clearTimeout(warmUp);
      if (timer) clearInterval(timer);
      await mining;
      await new Promise<void>((r) => server.close(() => r()));
      await node.stop();
    },
  };
}
