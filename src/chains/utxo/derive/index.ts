// Watch-only address derivation for the UTXO chains: a merchant gives an account extended public key
// (xpub/zpub/tpub/vpub/Ltub) or an output descriptor (wpkh/tr); every invoice gets the next receive
// address. Pure JS (noble/scure) because this also runs inside workerd, where WASM secp256k1 crashes.
// The gateway never holds a private key: anything that looks like one is refused.
//
// descriptor.ts parses keys and descriptors, curve.ts does the point arithmetic, deriver.ts turns a
// key into addresses, cache.ts keeps derivers and batches jobs, address.ts converts addresses and
// scripts. No node: imports here: the Worker bundles all of it (derive-pool.ts is the Node-only part).

export { addressToScriptHex, scriptHexToAddress } from './address';
export {
  type AddressJob,
  createDeriverCache,
  type DeriveMany,
  type DeriverCache,
  deriveAddress,
  deriveAddresses,
  deriveInline,
  warmDerivation,
} from './cache';
export { createDeriver } from './deriver';
export { descriptorChecksum, parseAccountKey } from './descriptor';
export {
  type AccountKey,
  type AccountKeyProblem,
  type AddressProblem,
  type DerivedAddress,
  type Deriver,
  InvalidAccountKeyError,
  InvalidAddressError,
  type ScriptType,
} from './types';
