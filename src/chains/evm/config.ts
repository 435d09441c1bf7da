// Which EVM networks this gateway serves and with what: read from the configuration (src/config.ts and
// ./env.ts). A network counts as configured when it has RPC URLs and a deposit factory; the router is
// optional (without it only deposit addresses are offered); tokens need an address each.
import { getAddress } from 'ethers';
import type { Config } from '../../config';
import { type AssetId, NETWORKS, type NetworkId } from '../networks';
import { EVM_NETWORK_IDS, evmVar } from './env';

/**
 * Official token contracts. Testnet USDC is Circle's (shared/data/README.md); there is no official test
 * USDT, so testnets offer USDT only when <NETWORK>_USDT_ADDRESS names one. The sandbox chain's tokens
 * are the project's own (written by `npm run sandbox`).
 */
export const OFFICIAL_TOKENS: Readonly<Partial<Record<NetworkId, Partial<Record<AssetId, string>>>>> = {
  ethereum: {
    USDC: '0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48',
    USDT: '0xdAC17F958D2ee523a2206206994597C13D831ec7',
  },
  'ethereum-sepolia': { USDC: '0x1c7D4B196Cb0C7B01d743Fbc6116a902379C7238' },
  'base-sepolia': { USDC: '0x036CbD53842c5426634e7929541eC2318f3dCF7e' },
  'polygon-amoy': { USDC: '0x41E94Eb019C0762f9Bfcf9Fb1E58725BfB0e7582' },
};

export interface EvmNetworkConfig {
  readonly network: NetworkId;
  readonly chainId: number;
  readonly rpcUrls: readonly string[];
  readonly depositFactory: string;
  readonly router: string | null;
  /** Token contracts by asset (checksummed); the native asset is not listed. */
  readonly tokens: Readonly<Partial<Record<AssetId, string>>>;
  /** Where the first scan starts when no cursor is stored (default: a little before the tip). */
  readonly startBlock: number | null;
}

export interface EvmSettings {
  readonly networks: ReadonlyMap<NetworkId, EvmNetworkConfig>;
  readonly signerKey: string | undefined;
  readonly sweeperKey: string | undefined;
  readonly rpcTimeoutMs: number;
  readonly rpcRetries: number;
  readonly scanMaxBlocks: number;
  readonly finalityDepth: number;
}

type Env = Record<string, unknown>;
const str = (env: Env, name: string): string | undefined => {
  const v = env[name];
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;
};

/** The EVM networks of the configured NETWORK_MODE that have what they need. */
export function evmSettingsFromConfig(config: Config): EvmSettings {
  const env = config as unknown as Env;
  const networks = new Map<NetworkId, EvmNetworkConfig>();
  for (const network of EVM_NETWORK_IDS) {
    const info = NETWORKS[network];
    if (info.mode !== config.NETWORK_MODE) continue;
    const urls = str(env, evmVar(network, 'RPC_URLS'));
    const factory = str(env, evmVar(network, 'DEPOSIT_FACTORY_ADDRESS'));
    if (!urls || !factory) continue;
    const router = str(env, evmVar(network, 'ROUTER_ADDRESS'));
    const tokens: Partial<Record<AssetId, string>> = {};
    for (const asset of info.assets) {
      if (asset === info.nativeAsset) continue;
      const given =
        asset === 'USDC' || asset === 'USDT' ? str(env, evmVar(network, `${asset}_ADDRESS`)) : undefined;
      const address = given ?? OFFICIAL_TOKENS[network]?.[asset];
      if (address) tokens[asset] = getAddress(address);
    }
    const start = str(env, evmVar(network, 'START_BLOCK'));
    networks.set(network, {
      network,
      chainId: info.chainId!,
      rpcUrls: urls
        .split(',')
        .map((u) => u.trim())
        .filter(Boolean),
      depositFactory: getAddress(factory),
      router: router ? getAddress(router) : null,
      tokens,
      startBlock: start === undefined ? null : Number(start),
    });
  }
  return {
    networks,
    signerKey: config.GATEWAY_SIGNER_KEY,
    sweeperKey: config.EVM_SWEEPER_KEY,
    rpcTimeoutMs: config.EVM_RPC_TIMEOUT_MS,
    rpcRetries: config.EVM_RPC_RETRIES,
    scanMaxBlocks: config.EVM_SCAN_MAX_BLOCKS,
    finalityDepth: config.EVM_FINALITY_DEPTH,
  };
}

/** The asset a token contract stands for on a network (undefined for unknown contracts). */
export function assetOfToken(net: EvmNetworkConfig, token: string): AssetId | undefined {
  const t = token.toLowerCase();
  for (const [asset, address] of Object.entries(net.tokens)) {
    if (address.toLowerCase() === t) return asset as AssetId;
  }
  return undefined;
}
