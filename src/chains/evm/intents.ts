// Payment intents (SPEC section 4b): the gateway signs an EIP-712 Intent that binds the invoice, the
// payer, the asset, the exact amount, the merchant's payout address and a deadline; the payer's browser
// wallet submits it to the PaymentRouter. Token payments need the router's allowance: either an
// approve transaction first, or an EIP-2612 permit the payer signs and payWithPermit carries.
import { Interface, Signature, type TypedDataDomain, type TypedDataField, Wallet, ZeroAddress } from 'ethers';
import { PaymentRouterAbi } from '../../../contracts/generated/PaymentRouter';
import { type PaymentIntent, signIntent } from '../../../contracts/intent';
import { type EvmRpc, ethCall } from './rpc';

export const routerInterface = new Interface(PaymentRouterAbi as never);
export const erc20Interface = new Interface([
  'function approve(address spender, uint256 amount) returns (bool)',
  'function allowance(address owner, address spender) view returns (uint256)',
  'function balanceOf(address owner) view returns (uint256)',
  'function transfer(address to, uint256 amount) returns (bool)',
  'function nonces(address owner) view returns (uint256)',
  'function name() view returns (string)',
  'function version() view returns (string)',
  'function eip712Domain() view returns (bytes1 fields, string name, string version, uint256 chainId, address verifyingContract, bytes32 salt, uint256[] extensions)',
  'event Transfer(address indexed from, address indexed to, uint256 value)',
]);

export interface IntentSigner {
  readonly address: string;
  sign(chainId: number, router: string, intent: PaymentIntent): Promise<string>;
}

/** The gateway's only key: it signs intents the router accepts; it cannot move anyone's funds. */
export function createIntentSigner(privateKey: string): IntentSigner {
  const wallet = new Wallet(privateKey);
  return {
    address: wallet.address,
    sign: (chainId, router, intent) => signIntent(wallet, chainId, router, intent),
  };
}

const intentTuple = (i: PaymentIntent) => [i.invoiceId, i.payer, i.token, i.amount, i.recipient, i.deadline];

export function payCalldata(intent: PaymentIntent, signature: string): string {
  return routerInterface.encodeFunctionData('pay', [intentTuple(intent), signature]);
}

/** `payWithPermit(intent, signature, permitDeadline, v, r, s)` from the payer's permit signature. */
export function payWithPermitCalldata(
  intent: PaymentIntent,
  signature: string,
  permitDeadline: bigint,
  permitSignature: string,
): string {
  const sig = Signature.from(permitSignature);
  return routerInterface.encodeFunctionData('payWithPermit', [
    intentTuple(intent),
    signature,
    permitDeadline,
    sig.v,
    sig.r,
    sig.s,
  ]);
}

export function approveCalldata(spender: string, amount: bigint): string {
  return erc20Interface.encodeFunctionData('approve', [spender, amount]);
}

export const isNativeToken = (token: string): boolean => token === ZeroAddress;

export async function readAllowance(
  rpc: EvmRpc,
  token: string,
  owner: string,
  spender: string,
): Promise<bigint> {
  const out = await ethCall(rpc, token, erc20Interface.encodeFunctionData('allowance', [owner, spender]));
  return erc20Interface.decodeFunctionResult('allowance', out)[0] as bigint;
}

export async function readPermitNonce(rpc: EvmRpc, token: string, owner: string): Promise<bigint> {
  const out = await ethCall(rpc, token, erc20Interface.encodeFunctionData('nonces', [owner]));
  return erc20Interface.decodeFunctionResult('nonces', out)[0] as bigint;
}

async function tryString(rpc: EvmRpc, token: string, fn: 'name' | 'version'): Promise<string | undefined> {
  try {
    const out = await ethCall(rpc, token, erc20Interface.encodeFunctionData(fn, []));
    return erc20Interface.decodeFunctionResult(fn, out)[0] as string;
  } catch {
    return undefined;
  }
}

/**
 * The token's EIP-712 domain for permits: EIP-5267 `eip712Domain()` where the token has it
 * (OpenZeppelin 5), else `name()` and `version()` (Circle's USDC answers "2"), else version "1".
 */
export async function tokenPermitDomain(
  rpc: EvmRpc,
  token: string,
  chainId: number,
): Promise<TypedDataDomain> {
  try {
    const out = await ethCall(rpc, token, erc20Interface.encodeFunctionData('eip712Domain', []));
    const d = erc20Interface.decodeFunctionResult('eip712Domain', out);
    return { name: d[1] as string, version: d[2] as string, chainId, verifyingContract: token };
  } catch {
    const name = await tryString(rpc, token, 'name');
    if (name === undefined) throw new Error(`token ${token} has no name(): cannot build its permit domain`);
    return {
      name,
      version: (await tryString(rpc, token, 'version')) ?? '1',
      chainId,
      verifyingContract: token,
    };
  }
}

export const PERMIT_TYPES: Record<string, TypedDataField[]> = {
  Permit: [
    { name: 'owner', type: 'address' },
    { name: 'spender', type: 'address' },
    { name: 'value', type: 'uint256' },
    { name: 'nonce', type: 'uint256' },
    { name: 'deadline', type: 'uint256' },
  ],
};

export interface PermitTypedData {
  readonly domain: TypedDataDomain;
  readonly types: Record<string, TypedDataField[]>;
  readonly primaryType: 'Permit';
  readonly message: { owner: string; spender: string; value: string; nonce: string; deadline: string };
}

/** What eth_signTypedData_v4 needs for the router's allowance (numbers as decimal strings for JSON). */
export function permitTypedData(
  domain: TypedDataDomain,
  owner: string,
  spender: string,
  value: bigint,
  nonce: bigint,
  deadline: bigint,
): PermitTypedData {
  return {
    domain: { ...domain, chainId: Number(domain.chainId) },
    types: PERMIT_TYPES,
    primaryType: 'Permit',
    message: {
      owner,
      spender,
      value: value.toString(),
      nonce: nonce.toString(),
      deadline: deadline.toString(),
    },
  };
}
