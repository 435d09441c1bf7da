// Deploys the gateway's contracts and the sandbox stand-ins (test USDC/USDT, a mock sanctions oracle)
// from one funded signer. Used by the sandbox start script and by tests.
import { type BaseContract, Contract, ContractFactory, type InterfaceAbi, type Signer } from 'ethers';
import {
  DepositFactoryAbi,
  DepositFactoryBytecode,
  MockSanctionsOracleAbi,
  MockSanctionsOracleBytecode,
  PaymentRouterAbi,
  PaymentRouterBytecode,
  TestTokenAbi,
  TestTokenBytecode,
} from './generated/index';

/** Names and symbols of the sandbox tokens (the name is also their EIP-2612 permit domain name). */
export const SANDBOX_TOKENS = {
  usdc: { name: 'Test USD Coin', symbol: 'USDC', decimals: 6 },
  usdt: { name: 'Test Tether USD', symbol: 'USDT', decimals: 6 },
} as const;

export interface DeployOptions {
  /** Address whose EIP-712 signatures the router (intents) and the deposit factory (flushes) accept;
   *  defaults to the deployer. */
  gatewaySigner?: string;
  /** Point the router at the mock sanctions oracle (default true). */
  routerUsesOracle?: boolean;
}

export interface DeployedAddresses {
  router: string;
  depositFactory: string;
  usdc: string;
  usdt: string;
  sanctionsOracle: string;
}

export interface Deployment {
  addresses: DeployedAddresses;
  router: Contract;
  depositFactory: Contract;
  usdc: Contract;
  usdt: Contract;
  sanctionsOracle: Contract;
}

/** Deploys one contract and waits until it is mined. */
export async function deployContract(
  signer: Signer,
  abi: InterfaceAbi,
  bytecode: string,
  args: unknown[] = [],
  overrides: { nonce?: number } = {},
): Promise<Contract> {
  const factory = new ContractFactory(abi, bytecode, signer);
  const deployed: BaseContract = await factory.deploy(...args, overrides);
  await deployed.waitForDeployment();
  return new Contract(await deployed.getAddress(), abi, signer);
}

/**
 * Deploys PaymentRouter and DepositFactory (owner: the deployer; signer: `gatewaySigner`), two test tokens and the mock oracle.
 * The deployments are sent back to back with explicit nonces so that, with interval mining, they land
 * in one block instead of one block each.
 */
export async function deployAll(signer: Signer, options: DeployOptions = {}): Promise<Deployment> {
  const deployer = await signer.getAddress();
  const nonce = await signer.getNonce('pending');
  const [router, depositFactory, usdc, usdt, sanctionsOracle] = await Promise.all([
    deployContract(
      signer,
      PaymentRouterAbi,
      PaymentRouterBytecode,
      [deployer, options.gatewaySigner ?? deployer],
      { nonce },
    ),
    deployContract(
      signer,
      DepositFactoryAbi,
      DepositFactoryBytecode,
      [deployer, options.gatewaySigner ?? deployer],
      { nonce: nonce + 1 },
    ),
    deployContract(
      signer,
      TestTokenAbi,
      TestTokenBytecode,
      [SANDBOX_TOKENS.usdc.name, SANDBOX_TOKENS.usdc.symbol],
      { nonce: nonce + 2 },
    ),
    deployContract(
      signer,
      TestTokenAbi,
      TestTokenBytecode,
      [SANDBOX_TOKENS.usdt.name, SANDBOX_TOKENS.usdt.symbol],
      { nonce: nonce + 3 },
    ),
    deployContract(signer, MockSanctionsOracleAbi, MockSanctionsOracleBytecode, [], { nonce: nonce + 4 }),
  ]);
  const addresses: DeployedAddresses = {
    router: await router.getAddress(),
    depositFactory: await depositFactory.getAddress(),
    usdc: await usdc.getAddress(),
    usdt: await usdt.getAddress(),
    sanctionsOracle: await sanctionsOracle.getAddress(),
  };
  if (options.routerUsesOracle ?? true) {
    const tx = await router.getFunction('setSanctionsOracle')(addresses.sanctionsOracle);
    await tx.wait();
  }
  return { addresses, router, depositFactory, usdc, usdt, sanctionsOracle };
}
