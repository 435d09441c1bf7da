// The UTXO part of the environment (src/config.ts spreads these in). Per network, one backend:
//   <NETWORK>_RPC_URL      a Bitcoin Core-compatible node, `http://user:password@host:port`
//                          (bitcoind/litecoind; -txindex recommended so senders of transactions first
//                          seen in a block can be named)
//   <NETWORK>_ESPLORA_URL  an Esplora REST API, e.g. https://mempool.space/testnet4/api
// e.g. LITECOIN_REGTEST_RPC_URL, BITCOIN_TESTNET4_ESPLORA_URL. When both are set the node wins.
// Only networks of the current NETWORK_MODE are watched.
import { z } from 'zod';
import { NETWORKS, type NetworkId } from '../../networks';
import { UTXO_PARAMS, type UtxoNetworkId } from '../params';

export const UTXO_NETWORK_IDS = Object.keys(UTXO_PARAMS) as UtxoNetworkId[];

export type UtxoVarSuffix = 'RPC_URL' | 'ESPLORA_URL';

/** `litecoin-regtest` + `RPC_URL` → `LITECOIN_REGTEST_RPC_URL`. */
export const utxoVar = (network: NetworkId, suffix: UtxoVarSuffix): string =>
  `${network.toUpperCase().replace(/-/g, '_')}_${suffix}`;

const httpUrl = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()))
  .refine((v) => {
    if (v === undefined) return true;
    try {
      const u = new URL(v);
      return u.protocol === 'http:' || u.protocol === 'https:';
    } catch {
      return false;
    }
  }, 'expected an http(s) URL');

const intVar = (def: number, min: number, max: number) =>
  z
    .string()
    .default(String(def))
    .transform((v, ctx) => {
      const n = /^[0-9]+$/.test(v.trim()) ? Number(v.trim()) : Number.NaN;
      if (!Number.isSafeInteger(n) || n < min || n > max) {
        ctx.addIssue({ code: 'custom', message: `expected a whole number from ${min} to ${max}` });
        return z.NEVER;
      }
      return n;
    });

const perNetwork: Record<string, typeof httpUrl> = {};
for (const n of UTXO_NETWORK_IDS) {
  perNetwork[utxoVar(n, 'RPC_URL')] = httpUrl;
  perNetwork[utxoVar(n, 'ESPLORA_URL')] = httpUrl;
}

/** Spread into the config schema. */
export const utxoEnvSchema = {
  ...perNetwork,
  /** Per call to a node or an Esplora server (each call is retried on transient failures). */
  UTXO_TIMEOUT_MS: intVar(10_000, 100, 300_000),
  UTXO_RETRIES: intVar(2, 0, 10),
  /** Blocks scanned per tick at most (a node catching up spreads over several ticks). */
  UTXO_SCAN_MAX_BLOCKS: intVar(50, 1, 10_000),
  /** Counted payments are re-checked (confirmations, reorgs) until this many confirmations. */
  UTXO_FINALITY_DEPTH: intVar(24, 1, 10_000),
  /** Esplora: parallel address look-ups per tick. */
  UTXO_ESPLORA_CONCURRENCY: intVar(4, 1, 64),
  /**
   * Esplora: requests per second to one service, shared by every process (public instances
   * rate-limit); 0 turns the per-address schedule off and polls every address every tick (a node
   * of one's own, the sandbox facade).
   */
  UTXO_ESPLORA_RPS: intVar(2, 0, 1_000),
  /** Esplora: the longest interval between polls of an open invoice's address, in seconds. */
  UTXO_ESPLORA_MAX_INTERVAL_SECONDS: intVar(300, 1, 86_400),
};

export interface UtxoNetworkSettings {
  readonly network: UtxoNetworkId;
  readonly backend:
    | { readonly kind: 'rpc'; readonly url: string }
    | { readonly kind: 'esplora'; readonly url: string };
}

export interface UtxoSettings {
  readonly networks: readonly UtxoNetworkSettings[];
  readonly timeoutMs: number;
  readonly retries: number;
  readonly scanMaxBlocks: number;
  readonly finalityDepth: number;
  readonly esploraConcurrency: number;
  /** 0: no schedule (every address every tick). */
  readonly esploraRps: number;
  readonly esploraMaxIntervalMs: number;
}

/** The configured UTXO networks of this mode (reads the variables above from the parsed config). */
export function utxoSettingsFromConfig(config: Readonly<Record<string, unknown>>): UtxoSettings {
  const mode = config['NETWORK_MODE'];
  const networks: UtxoNetworkSettings[] = [];
  for (const n of UTXO_NETWORK_IDS) {
    if (NETWORKS[n].mode !== mode) continue;
    const rpc = config[utxoVar(n, 'RPC_URL')];
    const esplora = config[utxoVar(n, 'ESPLORA_URL')];
    if (typeof rpc === 'string') networks.push({ network: n, backend: { kind: 'rpc', url: rpc } });
    else if (typeof esplora === 'string')
      networks.push({ network: n, backend: { kind: 'esplora', url: esplora } });
  }
  const num = (k: string, d: number) => (typeof config[k] === 'number' ? (config[k] as number) : d);
  return {
    networks,
    timeoutMs: num('UTXO_TIMEOUT_MS', 10_000),
    retries: num('UTXO_RETRIES', 2),
    scanMaxBlocks: num('UTXO_SCAN_MAX_BLOCKS', 50),
    finalityDepth: num('UTXO_FINALITY_DEPTH', 24),
    esploraConcurrency: num('UTXO_ESPLORA_CONCURRENCY', 4),
    esploraRps: num('UTXO_ESPLORA_RPS', 2),
    esploraMaxIntervalMs: num('UTXO_ESPLORA_MAX_INTERVAL_SECONDS', 300) * 1000,
  };
}
