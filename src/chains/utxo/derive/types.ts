// The shapes and errors of UTXO address derivation, shared by its parts (see index.ts).

import { ValidationError } from '../../../lib/errors';
import type { NetworkId } from '../../networks';

export type ScriptType = 'p2wpkh' | 'p2tr';

export interface AccountKey {
  readonly network: NetworkId;
  readonly scriptType: ScriptType;
  readonly source: 'xpub' | 'descriptor';
  /** As given, trimmed. */
  readonly text: string;
  /** Key origin from a descriptor: master fingerprint (8 hex) and path (`m/84h/0h/0h`). */
  readonly origin?: { readonly fingerprint: string; readonly path: string };
}

export interface DerivedAddress {
  readonly address: string;
  readonly scriptPubKeyHex: string;
}

export interface Deriver {
  readonly key: AccountKey;
  deriveAddress(index: number): DerivedAddress;
  firstAddress(): string;
}

export type AccountKeyProblem =
  | 'malformed'
  | 'checksum'
  | 'network'
  | 'private_key'
  | 'hardened'
  | 'unsupported';

/** The account key cannot be used; `reason` says why, the message says how to fix it. */
export class InvalidAccountKeyError extends ValidationError {
  readonly reason: AccountKeyProblem;
  constructor(reason: AccountKeyProblem, message: string, field = 'xpub') {
    super(message, [{ path: field, message }], 'invalid_account_key', 422);
    this.reason = reason;
    // ValidationError types `name` as its own literal; at run time the name says what failed.
    Object.defineProperty(this, 'name', { value: 'InvalidAccountKeyError' });
  }
}

export type AddressProblem = 'malformed' | 'network';

export class InvalidAddressError extends ValidationError {
  readonly reason: AddressProblem;
  constructor(reason: AddressProblem, message: string, field = 'address') {
    super(message, [{ path: field, message }], 'invalid_address', 422);
    this.reason = reason;
    Object.defineProperty(this, 'name', { value: 'InvalidAddressError' });
  }
}
