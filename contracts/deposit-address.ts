// Off-chain twin of DepositFactory.computeAddress: derives an invoice's deposit address without an RPC
// call. It depends on the generated forwarder bytecode, so it stays right only while the generated files
// match the sources (`npm run contracts:check`).
import { AbiCoder, concat, getCreate2Address, keccak256 } from 'ethers';
import { DepositForwarderBytecode } from './generated/DepositForwarder';

const abi = AbiCoder.defaultAbiCoder();

/** `keccak256(abi.encode(invoiceId, payout))`, the CREATE2 salt. */
export function depositSalt(invoiceId: string, payout: string): string {
  return keccak256(abi.encode(['bytes32', 'address'], [invoiceId, payout]));
}

/** The forwarder's init code: creation bytecode followed by the abi-encoded payout address. */
export function forwarderInitCode(payout: string): string {
  return concat([DepositForwarderBytecode, abi.encode(['address'], [payout])]);
}

export function computeDepositAddress(factory: string, invoiceId: string, payout: string): string {
  return getCreate2Address(factory, depositSalt(invoiceId, payout), keccak256(forwarderInitCode(payout)));
}
