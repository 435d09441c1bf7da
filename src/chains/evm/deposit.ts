// Per-invoice deposit addresses. The invoice id (`inv_…`) becomes the contracts' bytes32 invoice key as
// keccak256 of its UTF-8 bytes: the same key names the invoice in the deposit factory's CREATE2 salt and
// in the router's InvoicePaid events, so both payment paths map back to one invoice.
import { getAddress, keccak256, toUtf8Bytes } from 'ethers';
import { computeDepositAddress, depositSalt } from '../../../contracts/deposit-address';

export function invoiceKey(invoiceId: string): string {
  return keccak256(toUtf8Bytes(invoiceId));
}

export interface DepositAddress {
  readonly address: string;
  readonly invoiceKey: string;
  readonly salt: string;
  readonly payout: string;
}

/** Deterministic and offline: no transaction until the sweeper deploys the forwarder. */
export function depositAddressFor(factory: string, invoiceId: string, payout: string): DepositAddress {
  const key = invoiceKey(invoiceId);
  const p = getAddress(payout);
  return {
    address: getAddress(computeDepositAddress(getAddress(factory), key, p)),
    invoiceKey: key,
    salt: depositSalt(key, p),
    payout: p,
  };
}
