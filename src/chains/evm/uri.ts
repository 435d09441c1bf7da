// EIP-681 payment URIs with the chain id (`@31337`), so a wallet cannot send on the wrong chain.
// Amounts are atomic integers (wei, token base units): wallets differ on exponent notation, so plain
// digits are the form every one of them reads. Checkout shows copy fields beside the QR code anyway.
import { getAddress } from 'ethers';

/** `ethereum:0xDEPOSIT@31337?value=<wei>` */
export function nativeTransferUri(to: string, chainId: number, valueWei: bigint): string {
  if (valueWei < 0n) throw new RangeError('value must not be negative');
  return `ethereum:${getAddress(to)}@${chainId}?value=${valueWei.toString()}`;
}

/** `ethereum:0xTOKEN@31337/transfer?address=0xDEPOSIT&uint256=<atomic>` */
export function tokenTransferUri(token: string, chainId: number, to: string, amountAtomic: bigint): string {
  if (amountAtomic < 0n) throw new RangeError('amount must not be negative');
  return `ethereum:${getAddress(token)}@${chainId}/transfer?address=${getAddress(to)}&uint256=${amountAtomic.toString()}`;
}

export interface ParsedEip681 {
  readonly target: string;
  readonly chainId: number;
  readonly fn: string | null;
  readonly params: Readonly<Record<string, string>>;
}

/** Reads back what the two builders write (tests and the sandbox payer use it). */
export function parseEip681(uri: string): ParsedEip681 {
  const m = /^ethereum:(0x[0-9a-fA-F]{40})@([0-9]+)(?:\/([A-Za-z_][A-Za-z0-9_]*))?(?:\?(.*))?$/.exec(uri);
  if (!m) throw new SyntaxError(`not an EIP-681 URI with a chain id: ${uri}`);
  const params: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(m[4] ?? '')) params[k] = v;
  return { target: getAddress(m[1]!), chainId: Number(m[2]), fn: m[3] ?? null, params };
}
