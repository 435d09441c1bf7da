// The catalogue of networks and assets of SPEC section 4. Names here are the product's contract.

export const NETWORK_IDS = [
  'bitcoin',
  'bitcoin-testnet4',
  'bitcoin-signet',
  'bitcoin-regtest',
  'litecoin',
  'litecoin-testnet',
  'litecoin-regtest',
  'ethereum',
  'ethereum-sepolia',
  'base-sepolia',
  'polygon-amoy',
  'anvil',
] as const;
export type NetworkId = (typeof NETWORK_IDS)[number];

export const ASSET_IDS = ['BTC', 'LTC', 'ETH', 'POL', 'USDC', 'USDT'] as const;
export type AssetId = (typeof ASSET_IDS)[number];

export type NetworkMode = 'sandbox' | 'testnet' | 'mainnet';
export type Family = 'utxo' | 'evm';

export interface AssetInfo {
  readonly id: AssetId;
  readonly decimals: number;
  readonly name: string;
}

export const ASSETS: Readonly<Record<AssetId, AssetInfo>> = {
  BTC: { id: 'BTC', decimals: 8, name: 'Bitcoin' },
  LTC: { id: 'LTC', decimals: 8, name: 'Litecoin' },
  ETH: { id: 'ETH', decimals: 18, name: 'Ether' },
  POL: { id: 'POL', decimals: 18, name: 'Polygon' },
  USDC: { id: 'USDC', decimals: 6, name: 'USD Coin' },
  USDT: { id: 'USDT', decimals: 6, name: 'Tether USD' },
};

export interface NetworkInfo {
  readonly id: NetworkId;
  readonly family: Family;
  /** Which NETWORK_MODE offers this network. */
  readonly mode: NetworkMode;
  readonly nativeAsset: AssetId;
  /** Assets payable on this network (native first). */
  readonly assets: readonly AssetId[];
  /** UTXO: bech32 human-readable part; EVM: undefined. */
  readonly bech32?: string;
  /** UTXO: URI scheme of BIP21 (`bitcoin`, `litecoin`). */
  readonly uriScheme?: string;
  /** EVM chain id. */
  readonly chainId?: number;
  /** Explorer links for people (regulator console, dashboard); none for local chains. */
  readonly explorer?: { readonly tx: string; readonly address: string };
}

const utxo = (
  id: NetworkId,
  mode: NetworkMode,
  asset: 'BTC' | 'LTC',
  bech32: string,
  explorer?: NetworkInfo['explorer'],
): NetworkInfo => ({
  id,
  family: 'utxo',
  mode,
  nativeAsset: asset,
  assets: [asset],
  bech32,
  uriScheme: asset === 'BTC' ? 'bitcoin' : 'litecoin',
  ...(explorer ? { explorer } : {}),
});

const evm = (
  id: NetworkId,
  mode: NetworkMode,
  chainId: number,
  native: AssetId,
  tokens: AssetId[],
  explorer?: NetworkInfo['explorer'],
): NetworkInfo => ({
  id,
  family: 'evm',
  mode,
  nativeAsset: native,
  assets: [native, ...tokens],
  chainId,
  ...(explorer ? { explorer } : {}),
});

export const NETWORKS: Readonly<Record<NetworkId, NetworkInfo>> = {
  bitcoin: utxo('bitcoin', 'mainnet', 'BTC', 'bc', {
    tx: 'https://mempool.space/tx/{id}',
    address: 'https://mempool.space/address/{id}',
  }),
  'bitcoin-testnet4': utxo('bitcoin-testnet4', 'testnet', 'BTC', 'tb', {
    tx: 'https://mempool.space/testnet4/tx/{id}',
    address: 'https://mempool.space/testnet4/address/{id}',
  }),
  'bitcoin-signet': utxo('bitcoin-signet', 'testnet', 'BTC', 'tb', {
    tx: 'https://mempool.space/signet/tx/{id}',
    address: 'https://mempool.space/signet/address/{id}',
  }),
  'bitcoin-regtest': utxo('bitcoin-regtest', 'sandbox', 'BTC', 'bcrt'),
  litecoin: utxo('litecoin', 'mainnet', 'LTC', 'ltc', {
    tx: 'https://litecoinspace.org/tx/{id}',
    address: 'https://litecoinspace.org/address/{id}',
  }),
  'litecoin-testnet': utxo('litecoin-testnet', 'testnet', 'LTC', 'tltc', {
    tx: 'https://litecoinspace.org/testnet/tx/{id}',
    address: 'https://litecoinspace.org/testnet/address/{id}',
  }),
  'litecoin-regtest': utxo('litecoin-regtest', 'sandbox', 'LTC', 'rltc'),
  ethereum: evm('ethereum', 'mainnet', 1, 'ETH', ['USDC', 'USDT'], {
    tx: 'https://etherscan.io/tx/{id}',
    address: 'https://etherscan.io/address/{id}',
  }),
  'ethereum-sepolia': evm('ethereum-sepolia', 'testnet', 11155111, 'ETH', ['USDC'], {
    tx: 'https://sepolia.etherscan.io/tx/{id}',
    address: 'https://sepolia.etherscan.io/address/{id}',
  }),
  'base-sepolia': evm('base-sepolia', 'testnet', 84532, 'ETH', ['USDC'], {
    tx: 'https://sepolia.basescan.org/tx/{id}',
    address: 'https://sepolia.basescan.org/address/{id}',
  }),
  'polygon-amoy': evm('polygon-amoy', 'testnet', 80002, 'POL', ['USDC'], {
    tx: 'https://amoy.polygonscan.com/tx/{id}',
    address: 'https://amoy.polygonscan.com/address/{id}',
  }),
  anvil: evm('anvil', 'sandbox', 31337, 'ETH', ['USDC', 'USDT']),
};

export function isNetworkId(s: string): s is NetworkId {
  return (NETWORK_IDS as readonly string[]).includes(s);
}

export function isAssetId(s: string): s is AssetId {
  return (ASSET_IDS as readonly string[]).includes(s);
}

export interface PaymentOptionId {
  readonly option: string;
  readonly asset: AssetId;
  readonly network: NetworkId;
}

/** Parses `ASSET@network`; undefined when either half is unknown or the asset is not on that network. */
export function parseOption(option: string): PaymentOptionId | undefined {
  const at = option.indexOf('@');
  if (at <= 0) return undefined;
  const asset = option.slice(0, at);
  const network = option.slice(at + 1);
  if (!isAssetId(asset) || !isNetworkId(network)) return undefined;
  if (!NETWORKS[network].assets.includes(asset)) return undefined;
  return { option, asset, network };
}

export function networksForMode(mode: NetworkMode): NetworkInfo[] {
  return Object.values(NETWORKS).filter((n) => n.mode === mode);
}

export function explorerLink(network: NetworkId, kind: 'tx' | 'address', id: string): string | undefined {
  const tpl = NETWORKS[network].explorer?.[kind];
  return tpl ? tpl.replace('{id}', encodeURIComponent(id)) : undefined;
}
