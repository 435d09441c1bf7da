// Names people read for networks, and what a browser wallet needs to add an EVM chain it does not know
// (EIP-3085 wallet_addEthereumChain). The RPC URLs go to the wallet, never fetched by the page.
import { ASSETS, NETWORKS, type NetworkId } from '../../chains/networks';

export const NETWORK_NAMES: Readonly<Record<NetworkId, string>> = {
  bitcoin: 'Bitcoin',
  'bitcoin-testnet4': 'Bitcoin Testnet4',
  'bitcoin-signet': 'Bitcoin Signet',
  'bitcoin-regtest': 'Bitcoin Regtest',
  litecoin: 'Litecoin',
  'litecoin-testnet': 'Litecoin Testnet',
  'litecoin-regtest': 'Litecoin Regtest',
  ethereum: 'Ethereum',
  'ethereum-sepolia': 'Ethereum Sepolia',
  'base-sepolia': 'Base Sepolia',
  'polygon-amoy': 'Polygon Amoy',
  anvil: 'Anvil (sandbox)',
};

/** Public RPC endpoints that wallets are offered when they must add a testnet. */
const PUBLIC_RPC: Partial<Record<NetworkId, string>> = {
  ethereum: 'https://ethereum-rpc.publicnode.com',
  'ethereum-sepolia': 'https://ethereum-sepolia-rpc.publicnode.com',
  'base-sepolia': 'https://sepolia.base.org',
  'polygon-amoy': 'https://rpc-amoy.polygon.technology',
};

export interface AddChainParams {
  readonly chainId: string;
  readonly chainName: string;
  readonly nativeCurrency: { name: string; symbol: string; decimals: number };
  readonly rpcUrls: string[];
  readonly blockExplorerUrls?: string[];
}

/**
 * EIP-3085 parameters for `network`, or undefined when there is no RPC URL to offer. The sandbox chain
 * offers the gateway's own anvil URL (a local chain; nothing else could reach it).
 */
export function addChainParams(network: NetworkId, sandboxRpcUrl?: string): AddChainParams | undefined {
  const net = NETWORKS[network];
  if (net.family !== 'evm' || net.chainId === undefined) return undefined;
  const rpc = network === 'anvil' ? sandboxRpcUrl : PUBLIC_RPC[network];
  if (!rpc) return undefined;
  const explorer = net.explorer?.tx ? new URL(net.explorer.tx.replace('{id}', '')).origin : undefined;
  const native = ASSETS[net.nativeAsset];
  return {
    chainId: `0x${net.chainId.toString(16)}`,
    chainName: NETWORK_NAMES[network],
    nativeCurrency: { name: native.name, symbol: native.id, decimals: native.decimals },
    rpcUrls: [rpc],
    ...(explorer ? { blockExplorerUrls: [explorer] } : {}),
  };
}
