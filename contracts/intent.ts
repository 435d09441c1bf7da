// The EIP-712 shape of a PaymentRouter intent, shared by the gateway (which signs) and the tests.
// It must match PaymentRouter.sol: domain name/version and the Intent struct, field for field.
import { type Signer, type TypedDataDomain, TypedDataEncoder, type TypedDataField } from 'ethers';

export const ROUTER_DOMAIN_NAME = 'AlatauPayRouter';
export const ROUTER_DOMAIN_VERSION = '1';

/** A payment intent; `token` is the zero address for the chain's native coin. */
export interface PaymentIntent {
  invoiceId: string;
  payer: string;
  token: string;
  amount: bigint;
  recipient: string;
  /** Unix seconds, inclusive. */
  deadline: bigint;
}

export const INTENT_TYPES: Record<string, TypedDataField[]> = {
  Intent: [
    { name: 'invoiceId', type: 'bytes32' },
    { name: 'payer', type: 'address' },
    { name: 'token', type: 'address' },
    { name: 'amount', type: 'uint256' },
    { name: 'recipient', type: 'address' },
    { name: 'deadline', type: 'uint256' },
  ],
};

export function routerDomain(chainId: bigint | number, router: string): TypedDataDomain {
  return { name: ROUTER_DOMAIN_NAME, version: ROUTER_DOMAIN_VERSION, chainId, verifyingContract: router };
}

/** The digest the router recovers the signer from and records as used (`intentHash` in events). */
export function hashIntent(chainId: bigint | number, router: string, intent: PaymentIntent): string {
  return TypedDataEncoder.hash(routerDomain(chainId, router), INTENT_TYPES, { ...intent });
}

export function signIntent(
  signer: Signer,
  chainId: bigint | number,
  router: string,
  intent: PaymentIntent,
): Promise<string> {
  return signer.signTypedData(routerDomain(chainId, router), INTENT_TYPES, { ...intent });
}
