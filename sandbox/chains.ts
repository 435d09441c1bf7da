// The sandbox chains as one unit, for `npm run sandbox` and for `npm start` in sandbox mode: anvil
// (with the contracts) and, where installed, litecoind regtest, started in parallel on free loopback
// ports. Whoever starts them records itself as their owner in DATA_DIR/sandbox.json; a second
// starter for the same DATA_DIR finds that live owner and uses its chains instead of starting more.

import { readSandboxEvm } from '../src/chains/evm/sandbox-file';
import {
  clearSandboxOwner,
  readSandboxOwner,
  type SandboxOwner,
  writeSandboxOwner,
} from '../src/chains/sandbox-owner';
import { createRpcClient } from '../src/chains/utxo/backends/rpc';
import { readSandboxUtxo } from '../src/chains/utxo/backends/sandbox-file';
import { answersChainId } from './anvil';
import { startSandboxEvm } from './evm';
import { startSandboxLitecoin } from './litecoin';

export interface StartedChains {
  /** What runs: `anvil`, `litecoind`. */
  readonly names: readonly string[];
  /** Chains that could not start, with why. */
  readonly failures: readonly string[];
  stop(): Promise<void>;
}

export interface StartChainsOptions {
  readonly dataDir: string;
  readonly log?: (line: string) => void;
  /** Seconds between Litecoin blocks (default 10; 0: on demand). */
  readonly blockSeconds?: number;
  /** Who is starting them, recorded in sandbox.json (`npm start`, `npm run sandbox`). */
  readonly by: string;
}

/** Starts every sandbox chain it can, in parallel, and records this process as their owner. */
export async function startSandboxChains(options: StartChainsOptions): Promise<StartedChains> {
  const log = options.log ?? (() => {});
  const { dataDir } = options;
  // Written first: while they start, another starter for this DATA_DIR waits instead of starting more.
  writeSandboxOwner(dataDir, { pid: process.pid, by: options.by, startedAt: new Date().toISOString() });
  const stops: (() => Promise<void>)[] = [];
  const names: string[] = [];
  const failures: string[] = [];
  const [evm, ltc] = await Promise.allSettled([
    startSandboxEvm({ dataDir, log }),
    startSandboxLitecoin({
      dataDir,
      log,
      ...(options.blockSeconds === undefined ? {} : { blockSeconds: options.blockSeconds }),
    }),
  ]);
  if (evm.status === 'fulfilled') {
    names.push('anvil');
    stops.push(() => evm.value.stop());
  } else failures.push(`EVM (anvil): ${(evm.reason as Error).message}`);
  if (ltc.status === 'fulfilled') {
    if (ltc.value) {
      names.push('litecoind');
      stops.push(() => ltc.value!.stop());
    }
  } else failures.push(`Litecoin (litecoind): ${(ltc.reason as Error).message}`);
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      await Promise.allSettled(stops.map((s) => s()));
      clearSandboxOwner(dataDir, process.pid);
    })();
    return stopping;
  };
  return { names, failures, stop };
}

export interface RunningSandbox {
  readonly owner: SandboxOwner;
  /** Chains whose recorded endpoint answers. */
  readonly names: readonly string[];
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function answering(dataDir: string): Promise<string[]> {
  const evm = readSandboxEvm(dataDir);
  const ltc = readSandboxUtxo(dataDir)['litecoin-regtest'];
  const [evmUp, ltcUp] = await Promise.all([
    evm ? answersChainId(evm.rpcUrl) : false,
    ltc
      ? createRpcClient({ url: ltc.rpcUrl, timeoutMs: 1_000, retries: 0 })
          .call('getblockcount')
          .then(
            () => true,
            () => false,
          )
      : false,
  ]);
  return [...(evmUp ? ['anvil'] : []), ...(ltcUp ? ['litecoind'] : [])];
}

/**
 * The sandbox another live process runs for this DATA_DIR: its owner in sandbox.json is alive and a
 * recorded chain answers (while the owner is still starting them, waits up to `waitMs`). Never
 * whatever merely answers on a well-known port.
 */
export async function findRunningSandbox(
  dataDir: string,
  waitMs = 60_000,
): Promise<RunningSandbox | undefined> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const owner = readSandboxOwner(dataDir);
    if (!owner || owner.pid === process.pid || !owner.alive) return undefined;
    const names = await answering(dataDir);
    if (names.length) return { owner, names };
    if (Date.now() >= deadline) return undefined;
    await sleep(250);
  }
}
