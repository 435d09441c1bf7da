// Per-network parameters of the UTXO chains: address encodings, BIP44 coin types and the
// extended-key version bytes a merchant's wallet may export for that network.

import { NETWORKS, type NetworkId } from '../networks';

export type UtxoNetworkId = Extract<
  NetworkId,
  | 'bitcoin'
  | 'bitcoin-testnet4'
  | 'bitcoin-signet'
  | 'bitcoin-regtest'
  | 'litecoin'
  | 'litecoin-testnet'
  | 'litecoin-regtest'
>;

/** What an extended key's version bytes say about the wallet that exported it. */
export interface ExtendedKeyVersion {
  /** The usual prefix of its base58 text (xpub, zpub, Ltub…). */
  readonly prefix: string;
  readonly version: number;
  /** `watch`: we derive P2WPKH from it; `p2sh-p2wpkh`: a BIP49 key we refuse (other address type). */
  readonly use: 'watch' | 'p2sh-p2wpkh';
}

export interface UtxoParams {
  readonly network: UtxoNetworkId;
  readonly chain: 'bitcoin' | 'litecoin';
  readonly testnet: boolean;
  readonly hrp: string;
  readonly coinType: number;
  readonly pubKeyHash: number;
  /** P2SH version bytes; the first is the one we encode with, the others are still accepted. */
  readonly scriptHash: readonly number[];
  /** Public extended-key versions accepted on this network. */
  readonly publicVersions: readonly ExtendedKeyVersion[];
}

const v = (
  prefix: string,
  version: number,
  use: ExtendedKeyVersion['use'] = 'watch',
): ExtendedKeyVersion => ({
  prefix,
  version,
  use,
});

export const XPUB = v('xpub', 0x0488b21e);
export const ZPUB = v('zpub', 0x04b24746);
export const TPUB = v('tpub', 0x043587cf);
export const VPUB = v('vpub', 0x045f1cf6);
export const LTUB = v('Ltub', 0x019da462);
// SLIP-132: ypub/upub/Mtub name BIP49 (P2SH-wrapped SegWit) accounts; deriving native SegWit
// addresses from them would pay into addresses the merchant's wallet never scans.
export const YPUB = v('ypub', 0x049d7cb2, 'p2sh-p2wpkh');
export const UPUB = v('upub', 0x044a5262, 'p2sh-p2wpkh');
export const MTUB = v('Mtub', 0x01b26ef6, 'p2sh-p2wpkh');

const MAINNET_BTC = [XPUB, ZPUB, YPUB];
const MAINNET_LTC = [XPUB, ZPUB, LTUB, YPUB, MTUB];
const TESTNET = [TPUB, VPUB, UPUB];

/** Every public version we know, to tell "wrong network" from "not an extended key". */
export const KNOWN_PUBLIC_VERSIONS: readonly ExtendedKeyVersion[] = [
  XPUB,
  ZPUB,
  TPUB,
  VPUB,
  LTUB,
  YPUB,
  UPUB,
  MTUB,
];

/** Private extended-key versions (xprv, yprv, zprv, tprv, uprv, vprv, Ltpv, Mtpv): always refused. */
export const PRIVATE_VERSIONS: ReadonlyMap<number, string> = new Map([
  [0x0488ade4, 'xprv'],
  [0x049d7878, 'yprv'],
  [0x04b2430c, 'zprv'],
  [0x04358394, 'tprv'],
  [0x044a4e28, 'uprv'],
  [0x045f18bc, 'vprv'],
  [0x019d9cfe, 'Ltpv'],
  [0x01b26792, 'Mtpv'],
]);

const entry = (
  network: UtxoNetworkId,
  chain: UtxoParams['chain'],
  testnet: boolean,
  coinType: number,
  pubKeyHash: number,
  scriptHash: number[],
): UtxoParams => {
  const hrp = NETWORKS[network].bech32;
  if (!hrp) throw new Error(`network ${network} has no bech32 prefix`);
  const publicVersions = testnet ? TESTNET : chain === 'litecoin' ? MAINNET_LTC : MAINNET_BTC;
  return { network, chain, testnet, hrp, coinType, pubKeyHash, scriptHash, publicVersions };
};

export const UTXO_PARAMS: Readonly<Record<UtxoNetworkId, UtxoParams>> = {
  bitcoin: entry('bitcoin', 'bitcoin', false, 0, 0x00, [0x05]),
  'bitcoin-testnet4': entry('bitcoin-testnet4', 'bitcoin', true, 1, 0x6f, [0xc4]),
  'bitcoin-signet': entry('bitcoin-signet', 'bitcoin', true, 1, 0x6f, [0xc4]),
  'bitcoin-regtest': entry('bitcoin-regtest', 'bitcoin', true, 1, 0x6f, [0xc4]),
  // Litecoin moved P2SH from 0x05/0xc4 to 0x32/0x3a; old-style addresses still circulate.
  litecoin: entry('litecoin', 'litecoin', false, 2, 0x30, [0x32, 0x05]),
  'litecoin-testnet': entry('litecoin-testnet', 'litecoin', true, 1, 0x6f, [0x3a, 0xc4]),
  'litecoin-regtest': entry('litecoin-regtest', 'litecoin', true, 1, 0x6f, [0x3a, 0xc4]),
};

export function isUtxoNetwork(network: string): network is UtxoNetworkId {
  return Object.hasOwn(UTXO_PARAMS, network);
}

/** The parameters of a UTXO network; undefined for EVM networks. */
export function utxoParams(network: NetworkId): UtxoParams | undefined {
  return isUtxoNetwork(network) ? UTXO_PARAMS[network] : undefined;
}
