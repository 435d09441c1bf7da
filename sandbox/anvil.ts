// A real anvil node (from @foundry-rs/anvil-linux-amd64): for the sandbox (`npm run sandbox`, on a
// fixed port with its state kept under DATA_DIR) and for tests (a free port, thrown away after).
// Between tests, use snapshot()/revertTo() instead of restarting (a restart costs far more).
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import path from 'node:path';
import { HDNodeWallet, JsonRpcProvider, type Provider, Wallet } from 'ethers';

/** anvil's default mnemonic; its first ten accounts are funded with 10,000 ETH each. */
export const ANVIL_MNEMONIC = 'test test test test test test test test test test test junk';
export const ANVIL_DEFAULT_CHAIN_ID = 31337;

export interface AnvilOptions {
  /** Seconds between blocks (interval mining); default: a block per transaction. */
  blockTime?: number;
  chainId?: number;
  /** A fixed port (the sandbox); default: a free one, retried if taken meanwhile. */
  port?: number;
  /** Load the chain from this file if it exists and write it back periodically and on exit. */
  statePath?: string;
  /** Seconds between state dumps when statePath is set; default 5. */
  stateIntervalSeconds?: number;
}

export interface Anvil {
  rpcUrl: string;
  port: number;
  chainId: number;
  provider: JsonRpcProvider;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 5_000;
const START_ATTEMPTS = 3;

/** The anvil binary: `ANVIL_BIN` if set, else the one shipped in @foundry-rs/anvil-linux-amd64. */
export function anvilBinary(): string {
  if (process.env['ANVIL_BIN']) return process.env['ANVIL_BIN'];
  const require = createRequire(import.meta.url);
  const pkg = require.resolve('@foundry-rs/anvil-linux-amd64/package.json');
  return path.join(path.dirname(pkg), 'bin', 'anvil');
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (address === null || typeof address === 'string') throw new Error('could not get a free port');
  return address.port;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** True when something at rpcUrl answers eth_chainId. */
export async function answersChainId(rpcUrl: string): Promise<boolean> {
  try {
    const res = await fetch(rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
      signal: AbortSignal.timeout(1_000),
    });
    if (!res.ok) return false;
    const body = (await res.json()) as { result?: unknown };
    return typeof body.result === 'string';
  } catch {
    return false;
  }
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  // SIGINT: anvil writes its --state file on a clean shutdown.
  child.kill('SIGINT');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

async function launch(options: AnvilOptions, chainId: number): Promise<Omit<Anvil, 'provider'>> {
  const port = options.port ?? (await freePort());
  const args = ['--host', '127.0.0.1', '--port', String(port), '--chain-id', String(chainId), '--silent'];
  args.push('--mnemonic', ANVIL_MNEMONIC);
  if (options.blockTime !== undefined) args.push('--block-time', String(options.blockTime));
  if (options.statePath !== undefined) {
    args.push('--state', options.statePath, '--state-interval', String(options.stateIntervalSeconds ?? 5));
  }
  const child = spawn(anvilBinary(), args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4_000);
  });
  let spawnError: Error | undefined;
  child.on('error', (error) => {
    spawnError = error;
  });
  // An aborted run must not leave anvil behind.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  const rpcUrl = `http://127.0.0.1:${port}`;
  const stop = async () => {
    process.removeListener('exit', killOnExit);
    await stopProcess(child);
  };
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (spawnError || child.exitCode !== null || child.signalCode !== null) break;
    if (await answersChainId(rpcUrl)) return { rpcUrl, port, chainId, stop };
    await sleep(50);
  }
  await stop();
  const why = spawnError?.message ?? (stderr.trim() || `exit code ${child.exitCode ?? 'none'}`);
  throw new Error(`anvil did not start on port ${port}: ${why}`);
}

/**
 * Starts anvil (default chain id 31337, the default mnemonic's accounts). Retries on a new port if the
 * chosen one was taken between probing and binding (not when the port was given).
 */
export async function startAnvil(options: AnvilOptions = {}): Promise<Anvil> {
  const chainId = options.chainId ?? ANVIL_DEFAULT_CHAIN_ID;
  let lastError: unknown;
  const attempts = options.port === undefined ? START_ATTEMPTS : 1;
  for (let attempt = 0; attempt < attempts; attempt++) {
    try {
      const node = await launch(options, chainId);
      // cacheTimeout -1: ethers would otherwise answer repeated identical calls (balances) from a
      // 250 ms cache; a short polling interval keeps tx.wait() quick on a local chain.
      const provider = new JsonRpcProvider(node.rpcUrl, undefined, { cacheTimeout: -1, pollingInterval: 50 });
      return {
        ...node,
        provider,
        stop: async () => {
          provider.destroy();
          await node.stop();
        },
      };
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}

/**
 * The keys of anvil's first ten accounts (m/44'/60'/0'/0/0..9 of its default mnemonic), as anvil prints
 * them: deriving them from the phrase costs a PBKDF2 and a derivation each, tens of milliseconds of
 * pure JS on every start (test/contracts/anvil-helper.test.ts checks they are the derived ones).
 */
export const ANVIL_KEYS = [
  '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80',
  '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d',
  '0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a',
  '0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6',
  '0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a',
  '0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba',
  '0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e',
  '0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356',
  '0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97',
  '0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6',
] as const;

/** The i-th account of anvil's default mnemonic (m/44'/60'/0'/0/i), connected to `provider`. */
export function anvilAccount(index: number, provider?: Provider): Wallet {
  const key =
    ANVIL_KEYS[index] ??
    HDNodeWallet.fromPhrase(ANVIL_MNEMONIC, undefined, `m/44'/60'/0'/0/${index}`).privateKey;
  return new Wallet(key, provider ?? null);
}

/** Takes an EVM snapshot; revert to it with revertTo() (each snapshot can be reverted to once). */
export async function snapshot(provider: JsonRpcProvider): Promise<string> {
  return (await provider.send('evm_snapshot', [])) as string;
}

export async function revertTo(provider: JsonRpcProvider, id: string): Promise<void> {
  const ok = (await provider.send('evm_revert', [id])) as boolean;
  if (!ok) throw new Error(`evm_revert to snapshot ${id} failed`);
}
