// Shared bits of the contract tests: one anvil per file with snapshot/revert around each test, and
// custom-error assertions decoded from the revert data.
import {
  type Contract,
  type ErrorDescription,
  type Interface,
  id,
  type LogDescription,
  type TransactionReceipt,
  type TransactionResponse,
  type Wallet,
} from 'ethers';
import { afterAll, afterEach, beforeAll, beforeEach, expect } from 'vitest';
import { type Deployment, type DeployOptions, deployAll } from '../../contracts/deploy';
import { type Anvil, anvilAccount, revertTo, snapshot, startAnvil } from '../helpers/anvil';

export interface ChainFixture {
  anvil: Anvil;
  deployment: Deployment;
  /** anvil accounts 0..7; account 0 deployed everything and owns the router. */
  accounts: Wallet[];
  chainId: bigint;
}

/** Starts anvil and deploys once per file; every test runs inside a snapshot that is reverted after. */
export function useChain(options: DeployOptions | ((accounts: Wallet[]) => DeployOptions) = {}) {
  const fixture = {} as ChainFixture;
  let snapshotId = '';
  beforeAll(async () => {
    fixture.anvil = await startAnvil();
    fixture.accounts = Array.from({ length: 8 }, (_, i) => anvilAccount(i, fixture.anvil.provider));
    const deployOptions = typeof options === 'function' ? options(fixture.accounts) : options;
    fixture.deployment = await deployAll(fixture.accounts[0]!, deployOptions);
    fixture.chainId = (await fixture.anvil.provider.getNetwork()).chainId;
  });
  afterAll(async () => {
    await fixture.anvil?.stop();
  });
  beforeEach(async () => {
    snapshotId = await snapshot(fixture.anvil.provider);
  });
  afterEach(async () => {
    await revertTo(fixture.anvil.provider, snapshotId);
  });
  return fixture;
}

function revertData(error: unknown): string | undefined {
  const e = error as { data?: unknown; info?: { error?: { data?: unknown } } };
  if (typeof e.data === 'string' && e.data.startsWith('0x')) return e.data;
  const nested = e.info?.error?.data;
  if (typeof nested === 'string' && nested.startsWith('0x')) return nested;
  return undefined;
}

/** Awaits `action`, expects it to revert, and returns the decoded custom error. */
export async function revertError(action: Promise<unknown>, iface: Interface): Promise<ErrorDescription> {
  let failure: unknown;
  try {
    await action;
  } catch (error) {
    failure = error;
  }
  if (failure === undefined) throw new Error('expected a revert, but the call succeeded');
  const data = revertData(failure);
  if (data === undefined) throw failure;
  const parsed = iface.parseError(data);
  if (parsed === null) throw new Error(`revert data ${data} matches no error of the interface`);
  return parsed;
}

/** Expects a revert with the custom error `name` (and, if given, exactly these arguments). */
export async function expectRevert(
  action: Promise<unknown>,
  iface: Interface,
  name: string,
  args?: unknown[],
): Promise<ErrorDescription> {
  const parsed = await revertError(action, iface);
  expect(parsed.name).toBe(name);
  if (args !== undefined) expect(parsed.args.toArray()).toEqual(args);
  return parsed;
}

/** Sends through `contract.<method>(...args)` and waits for a successful receipt. */
export async function send(
  contract: Contract,
  method: string,
  ...args: unknown[]
): Promise<TransactionReceipt> {
  const tx = (await contract.getFunction(method)(...args)) as TransactionResponse;
  const receipt = await tx.wait();
  if (receipt === null || receipt.status !== 1) throw new Error(`${method} did not succeed`);
  return receipt;
}

export function call<T = unknown>(contract: Contract, method: string, ...args: unknown[]): Promise<T> {
  return contract.getFunction(method).staticCall(...args) as Promise<T>;
}

/** The logs of `receipt` emitted by `address` that `iface` can decode, optionally one event only. */
export function eventsOf(
  receipt: TransactionReceipt,
  iface: Interface,
  address: string,
  name?: string,
): LogDescription[] {
  const events: LogDescription[] = [];
  for (const log of receipt.logs) {
    if (log.address.toLowerCase() !== address.toLowerCase()) continue;
    const parsed = iface.parseLog({ topics: [...log.topics], data: log.data });
    if (parsed && (name === undefined || parsed.name === name)) events.push(parsed);
  }
  return events;
}

/** The selector of a Solidity custom error, e.g. `errorSelector('ReentrancyGuardReentrantCall()')`. */
export function errorSelector(signature: string): string {
  return id(signature).slice(0, 10);
}
