// Node only. The sandbox's Litecoin side as the gateway finds it: `npm run sandbox` starts litecoind
// regtest and records its RPC URL (and the Esplora facade's) in DATA_DIR/sandbox.json under `utxo`.
// Variables set in the environment always win.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../../../config';
import { readSandboxFile, SANDBOX_FILE } from '../../evm/sandbox-file';
import type { UtxoNetworkId } from '../params';
import { utxoVar } from './env';

/** What `npm run sandbox` records about a UTXO regtest node. */
export interface SandboxUtxoRecord {
  /** With credentials (sandbox only): `http://user:password@127.0.0.1:port`. */
  readonly rpcUrl: string;
  /** The Esplora-compatible facade over the same node. */
  readonly esploraUrl?: string;
  /** The funded node wallet that `npm run sandbox:pay` pays from. */
  readonly wallet: string;
  readonly startedAt: string;
}

export function readSandboxUtxo(dataDir: string): Partial<Record<UtxoNetworkId, SandboxUtxoRecord>> {
  return (readSandboxFile(dataDir)['utxo'] as Partial<Record<UtxoNetworkId, SandboxUtxoRecord>>) ?? {};
}

/** Writes one network's record, keeping whatever else the file holds (the EVM side, say). */
export function writeSandboxUtxo(dataDir: string, network: UtxoNetworkId, record: SandboxUtxoRecord): string {
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, SANDBOX_FILE);
  const all = readSandboxFile(dataDir);
  const utxo = (all['utxo'] as Record<string, unknown> | undefined) ?? {};
  const next = { ...all, utxo: { ...utxo, [network]: record } };
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(next, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, file);
  return file;
}

/**
 * In sandbox mode, points every UTXO regtest network the environment leaves unconfigured at the node
 * recorded in sandbox.json. Other modes are returned unchanged.
 */
export function withSandboxUtxo(config: Config, useRecords = true): Config {
  if (config.NETWORK_MODE !== 'sandbox' || !useRecords) return config;
  const env = config as unknown as Record<string, unknown>;
  const fill: Record<string, unknown> = {};
  for (const [network, rec] of Object.entries(readSandboxUtxo(config.DATA_DIR))) {
    const rpcVar = utxoVar(network as UtxoNetworkId, 'RPC_URL');
    const esploraVar = utxoVar(network as UtxoNetworkId, 'ESPLORA_URL');
    if (!rec?.rpcUrl || env[rpcVar] !== undefined || env[esploraVar] !== undefined) continue;
    fill[rpcVar] = rec.rpcUrl;
  }
  return { ...config, ...fill } as Config;
}
