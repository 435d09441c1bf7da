// The EIP-712 shape of a DepositFactory flush authorization, shared by the gateway (which signs only
// while no payment on the deposit is held or rejected) and the tests. It must match DepositFactory.sol:
// domain name/version and the Flush struct, field for field.
import { type Signer, type TypedDataDomain, TypedDataEncoder, type TypedDataField } from 'ethers';

export const FACTORY_DOMAIN_NAME = 'AlatauPayDepositFactory';
export const FACTORY_DOMAIN_VERSION = '1';

export interface FlushAuthorization {
  invoiceId: string;
  payout: string;
  tokens: string[];
  /** `DepositFactory.nonces(forwarder)` when signed: the authorization works once. */
  nonce: bigint;
  /** Unix seconds, inclusive. */
  deadline: bigint;
}

export const FLUSH_TYPES: Record<string, TypedDataField[]> = {
  Flush: [
    { name: 'invoiceId', type: 'bytes32' },
    { name: 'payout', type: 'address' },
    { name: 'tokens', type: 'address[]' },
    { name: 'nonce', type: 'uint256' },
    { name: 'deadline', type: 'uint256' },
  ],
};

export function factoryDomain(chainId: bigint | number, factory: string): TypedDataDomain {
  return { name: FACTORY_DOMAIN_NAME, version: FACTORY_DOMAIN_VERSION, chainId, verifyingContract: factory };
}

export function hashFlush(chainId: bigint | number, factory: string, auth: FlushAuthorization): string {
  return TypedDataEncoder.hash(factoryDomain(chainId, factory), FLUSH_TYPES, { ...auth });
}

export function signFlush(
  signer: Signer,
  chainId: bigint | number,
  factory: string,
  auth: FlushAuthorization,
): Promise<string> {
  return signer.signTypedData(factoryDomain(chainId, factory), FLUSH_TYPES, { ...auth });
}
