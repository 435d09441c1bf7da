// The independent reference for our derivation: bip32 + tiny-secp256k1 (libsecp256k1 in WASM) and
// bitcoinjs-lib, which share no curve or encoding code with src/chains/utxo (noble/scure).
import { pbkdf2 } from '@noble/hashes/pbkdf2.js';
import { sha256, sha512 } from '@noble/hashes/sha2.js';
import { createBase58check } from '@scure/base';
import { BIP32Factory, type BIP32Interface } from 'bip32';
import { address as bjsAddress, initEccLib, type Network, networks, payments } from 'bitcoinjs-lib';
import * as ecc from 'tiny-secp256k1';

initEccLib(ecc);
export const bip32 = BIP32Factory(ecc);

// BIP84's published account keys of "abandon … about": mainnet m/84'/0'/0' and testnet m/84'/1'/0'.
export const ZPUB =
  'zpub6rFR7y4Q2AijBEqTUquhVz398htDFrtymD9xYYfG1m4wAcvPhXNf' +
  'E3EfH1r1ADqtfSdVCToUG868RvUUkgDKf31mGDtKsAYz2oz2AGutZYs';
export const VPUB =
  'vpub5Y6cjg78GGuNLsaPhmYsiw4gYX3HoQiRBiSwDaBXKUafCt9bNwWQ' +
  'iitDk5VZ5BVxYnQdwoTyXSs2JHRPAgjAvtbBrf8ZhDYe2jWAqvZVnsc';

export const MNEMONIC =
  'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about';

/** BIP39 seed of a mnemonic with an empty passphrase. */
export function mnemonicSeed(mnemonic: string): Uint8Array {
  const enc = new TextEncoder();
  return pbkdf2(sha512, enc.encode(mnemonic.normalize('NFKD')), enc.encode('mnemonic'), {
    c: 2048,
    dkLen: 64,
  });
}

const b58 = createBase58check(sha256);

/** The same extended key under other version bytes (zpub → xpub, vpub → tpub, …). */
export function withVersion(key: string, version: number): string {
  const bytes = b58.decode(key);
  bytes.set([version >>> 24, (version >>> 16) & 0xff, (version >>> 8) & 0xff, version & 0xff], 0);
  return b58.encode(bytes);
}

const bip32Versions = (pub: number, priv: number) => ({ public: pub, private: priv });

export const LITECOIN: Network = {
  messagePrefix: '\x19Litecoin Signed Message:\n',
  bech32: 'ltc',
  bip32: bip32Versions(0x0488b21e, 0x0488ade4),
  pubKeyHash: 0x30,
  scriptHash: 0x32,
  wif: 0xb0,
};
export const LITECOIN_TEST: Network = {
  ...LITECOIN,
  bech32: 'tltc',
  pubKeyHash: 0x6f,
  scriptHash: 0x3a,
  wif: 0xef,
};
export const LITECOIN_REGTEST: Network = { ...LITECOIN_TEST, bech32: 'rltc' };

export const REFERENCE_NETWORKS = {
  bitcoin: networks.bitcoin,
  'bitcoin-testnet4': networks.testnet,
  'bitcoin-signet': networks.testnet,
  'bitcoin-regtest': networks.regtest,
  litecoin: LITECOIN,
  'litecoin-testnet': LITECOIN_TEST,
  'litecoin-regtest': LITECOIN_REGTEST,
} as const;
export type RefNetwork = keyof typeof REFERENCE_NETWORKS;

/** Parses an extended public key with bip32, whatever its version bytes. */
export function refNode(xpub: string): BIP32Interface {
  const version = b58.decode(xpub).subarray(0, 4);
  const pub = ((version[0]! << 24) | (version[1]! << 16) | (version[2]! << 8) | version[3]!) >>> 0;
  return bip32.fromBase58(xpub, { ...networks.bitcoin, bip32: bip32Versions(pub, 0x0488ade4) });
}

/** Receive address `index` on `branch` by the reference libraries. */
export function refAddress(
  network: RefNetwork,
  xpub: string,
  type: 'p2wpkh' | 'p2tr',
  index: number,
  branch: readonly number[] = [0],
): string {
  let node = refNode(xpub);
  for (const step of branch) node = node.derive(step);
  const child = node.derive(index);
  const net = REFERENCE_NETWORKS[network];
  const pay =
    type === 'p2wpkh'
      ? payments.p2wpkh({ pubkey: child.publicKey, network: net })
      : payments.p2tr({ internalPubkey: child.publicKey.subarray(1, 33), network: net });
  return pay.address!;
}

export function refOutputScriptHex(network: RefNetwork, addr: string): string {
  return Buffer.from(bjsAddress.toOutputScript(addr, REFERENCE_NETWORKS[network])).toString('hex');
}

export function refAddressFromScript(network: RefNetwork, scriptHex: string): string {
  return bjsAddress.fromOutputScript(Buffer.from(scriptHex, 'hex'), REFERENCE_NETWORKS[network]);
}
