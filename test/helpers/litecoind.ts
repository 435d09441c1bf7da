// A real Litecoin Core regtest node per test file: a fresh data directory in /tmp, free ports, a
// funded wallet. When litecoind is missing, CI (or REQUIRE_LITECOIND=1) fails loudly; elsewhere the
// suites that need it are skipped with the reason printed.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ensureWallet,
  findLitecoind,
  fundWallet,
  type LitecoindNode,
  mine,
  startLitecoind,
} from '../../sandbox/litecoin';
import type { RpcClient } from '../../src/chains/utxo/backends/rpc';

export interface RegtestNode {
  readonly node: LitecoindNode;
  readonly rpc: RpcClient;
  /** The funded wallet `test`. */
  readonly wallet: RpcClient;
  mine(blocks?: number): Promise<string[]>;
  /** Sends `amount` (LTC, decimal string) to `address` from the wallet; returns the txid. */
  pay(address: string, amount: string, opts?: { rbf?: boolean }): Promise<string>;
  /** A second node (no wallet) synced to this one, for double spends and competing chains. */
  startPeer(): Promise<RegtestPeer>;
  stop(): Promise<void>;
}

export interface RegtestPeer {
  readonly rpc: RpcClient;
  /** Cuts the peer off the network (transactions and blocks stay on their side). */
  disconnect(): Promise<void>;
  /** Reconnects and waits until both nodes have the same tip. */
  connect(): Promise<void>;
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function waitSynced(a: RpcClient, b: RpcClient, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const [x, y] = await Promise.all([
      a.call<string>('getbestblockhash'),
      b.call<string>('getbestblockhash'),
    ]);
    if (x === y) return;
    await sleep(50);
  }
  throw new Error('the regtest nodes did not sync');
}

const REQUIRED = Boolean(process.env['CI']) || process.env['REQUIRE_LITECOIND'] === '1';

/** Whether litecoind tests run here. Throws in CI (or REQUIRE_LITECOIND=1) when it is missing. */
export function litecoindAvailable(): boolean {
  if (findLitecoind()) return true;
  const reason = 'litecoind is not installed (apt-get install -y litecoind, or set LITECOIND_BIN)';
  if (REQUIRED) throw new Error(`${reason}: required because CI or REQUIRE_LITECOIND=1 is set`);
  console.warn(`[skip] Litecoin regtest tests skipped: ${reason}`);
  return false;
}

export async function startRegtest(opts: { fundCoins?: number; height?: number } = {}): Promise<RegtestNode> {
  const dir = mkdtempSync(join(tmpdir(), 'alatau-ltc-'));
  let node: LitecoindNode;
  try {
    node = await startLitecoind({ dataDir: dir });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const wallet = await ensureWallet(node.rpc, 'test');
  // Well past MWEB activation (432), so that even a 100-block reorg stays on the MWEB side.
  await fundWallet(node.rpc, wallet, opts.fundCoins ?? 200, opts.height ?? 600);
  return {
    node,
    rpc: node.rpc,
    wallet,
    mine: (blocks = 1) => mine(node.rpc, wallet, blocks),
    pay: (address, amount, o = {}) =>
      wallet.call<string>('sendtoaddress', { address, amount, replaceable: o.rbf ?? false }),
    async startPeer() {
      const peerDir = mkdtempSync(join(tmpdir(), 'alatau-ltc-peer-'));
      const peer = await startLitecoind({ dataDir: peerDir, extraArgs: ['-disablewallet'] });
      const target = `127.0.0.1:${node.p2pPort}`;
      const link = async () => {
        await peer.rpc.call('setnetworkactive', [true]);
        await peer.rpc.call('addnode', [target, 'onetry']);
        await waitSynced(node.rpc, peer.rpc);
      };
      await link();
      return {
        rpc: peer.rpc,
        async disconnect() {
          await peer.rpc.call('setnetworkactive', [false]);
          const deadline = Date.now() + 10_000;
          while ((await node.rpc.call<number>('getconnectioncount')) > 0 && Date.now() < deadline)
            await sleep(50);
        },
        connect: link,
        async stop() {
          await peer.stop({ kill: true });
          rmSync(peerDir, { recursive: true, force: true });
        },
      };
    },
    async stop() {
      await node.stop({ kill: true });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
