// The sandbox's EVM chain: anvil on a free loopback port (chain id 31337) with its state kept under DATA_DIR,
// the project's contracts deployed (the router trusting the gateway's sandbox signer), test USDC and
// USDT minted to the funded payer accounts, and the addresses written to DATA_DIR/sandbox.json where
// the gateway reads them (src/chains/evm/sandbox-file.ts). A second start reuses what is deployed.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Contract, type JsonRpcProvider, parseUnits } from 'ethers';
import { deployAll, SANDBOX_TOKENS } from '../contracts/deploy';
import { runtimeMatches } from '../contracts/deploy-public';
import {
  DepositFactoryAbi,
  DepositFactoryBytecode,
  PaymentRouterAbi,
  TestTokenAbi,
} from '../contracts/generated/index';
import {
  readSandboxEvm,
  type SandboxEvmRecord,
  sandboxSignerKey,
  writeSandboxEvm,
} from '../src/chains/evm/sandbox-file';
import { type Anvil, anvilAccount, startAnvil } from './anvil';

/** anvil accounts: 0 deploys and owns, 1–5 pay (funded with test tokens), 9 sweeps. */
export const DEPLOYER_INDEX = 0;
export const PAYER_INDEXES = [1, 2, 3, 4, 5] as const;
export const SWEEPER_INDEX = 9;
export const PAYER_TOKEN_BALANCE = '1000000';

export interface SandboxEvmOptions {
  readonly dataDir: string;
  /** Default: ANVIL_PORT, else a free port. */
  readonly port?: number;
  /** Seconds between blocks (default 1: confirmations keep coming without traffic); null mines per transaction. */
  readonly blockTime?: number | null;
  readonly log?: (line: string) => void;
}

export interface SandboxEvm {
  readonly anvil: Anvil;
  readonly record: SandboxEvmRecord;
  /** Stops anvil (its state is written to DATA_DIR/anvil-state.json). */
  stop(): Promise<void>;
}

async function hasCode(provider: JsonRpcProvider, address: string): Promise<boolean> {
  return (await provider.getCode(address)) !== '0x';
}

/**
 * Starts anvil (on a free loopback port unless one is given) with its state under DATA_DIR and makes
 * it ready to pay. Never joins whatever already answers on a port: a sandbox already running for this
 * DATA_DIR is found through sandbox.json (sandbox/chains.ts).
 */
export async function startSandboxEvm(options: SandboxEvmOptions): Promise<SandboxEvm> {
  const log = options.log ?? (() => {});
  const envPort = process.env['ANVIL_PORT'] ? Number(process.env['ANVIL_PORT']) : undefined;
  const port = options.port ?? envPort;
  const blockTime = options.blockTime === undefined ? 1 : options.blockTime;
  // Started mining a block per transaction: the deployments and mints below are mined as soon as
  // they are sent instead of each waiting for the next interval block; interval mining starts after.
  const anvil = await startAnvil({
    ...(port === undefined ? {} : { port }),
    statePath: join(options.dataDir, 'anvil-state.json'),
  });
  const mining = blockTime === null ? 'a block per transaction' : `${blockTime} s blocks`;
  log(`anvil: started at ${anvil.rpcUrl} (chain id ${anvil.chainId}, ${mining})`);
  try {
    const record = await prepareChain(anvil.provider, anvil.rpcUrl, options.dataDir, log);
    if (blockTime !== null) await anvil.provider.send('evm_setIntervalMining', [blockTime]);
    return { anvil, record, stop: () => anvil.stop() };
  } catch (err) {
    await anvil.stop();
    throw err;
  }
}

async function prepareChain(
  provider: JsonRpcProvider,
  rpcUrl: string,
  dataDir: string,
  log: (line: string) => void,
): Promise<SandboxEvmRecord> {
  const chainId = Number((await provider.getNetwork()).chainId);
  const deployer = anvilAccount(DEPLOYER_INDEX, provider);
  const signer = sandboxSignerKey(dataDir);
  if (signer.created)
    log(`gateway signer: generated ${signer.address} (${join(dataDir, 'gateway-signer.key')})`);

  const known = readSandboxEvm(dataDir);
  const reusable =
    known !== undefined &&
    known.chainId === chainId &&
    // A factory from an older build (e.g. before flush authorizations) is not reused.
    (
      await Promise.all([
        ...[known.router, known.usdc, known.usdt].map((a) => hasCode(provider, a)),
        provider.getCode(known.depositFactory).then((code) => runtimeMatches(code, DepositFactoryBytecode)),
      ])
    ).every(Boolean);
  let addresses: Pick<SandboxEvmRecord, 'router' | 'depositFactory' | 'usdc' | 'usdt' | 'sanctionsOracle'>;
  if (reusable) {
    addresses = known;
    log(`contracts: already deployed (router ${known.router})`);
    const router = new Contract(known.router, PaymentRouterAbi, deployer);
    if (!(await router.getFunction('isSigner')(signer.address))) {
      await (await router.getFunction('addSigner')(signer.address)).wait();
      log(`router: now trusts the gateway signer ${signer.address}`);
    }
    const factory = new Contract(known.depositFactory, DepositFactoryAbi, deployer);
    if ((await factory.getFunction('flushSigner')()) !== signer.address) {
      await (await factory.getFunction('setFlushSigner')(signer.address)).wait();
      log(`deposit factory: flushes now need the gateway signer ${signer.address}`);
    }
  } else {
    const d = await deployAll(deployer, { gatewaySigner: signer.address });
    addresses = d.addresses;
    log(`contracts: deployed router ${d.addresses.router}, deposit factory ${d.addresses.depositFactory}`);
  }

  const payers = PAYER_INDEXES.map((i) => anvilAccount(i, provider).address);
  const want = parseUnits(PAYER_TOKEN_BALANCE, SANDBOX_TOKENS.usdc.decimals);
  let nonce = await deployer.getNonce('pending');
  const mints = [];
  // Balances read together (a warm start mints nothing, and should not wait ten round trips for that).
  const tokens = [addresses.usdc, addresses.usdt].map((t) => new Contract(t, TestTokenAbi, deployer));
  const have = await Promise.all(
    tokens.flatMap((c) =>
      payers.map(async (p) => ({ c, p, have: (await c.getFunction('balanceOf')(p)) as bigint })),
    ),
  );
  for (const h of have) {
    if (h.have < want / 2n) mints.push(await h.c.getFunction('mint')(h.p, want - h.have, { nonce: nonce++ }));
  }
  await Promise.all(mints.map((tx) => tx.wait()));
  if (mints.length) log(`tokens: minted test USDC and USDT to ${payers.length} payer accounts`);

  const record: SandboxEvmRecord = {
    chainId,
    rpcUrl,
    ...addresses,
    gatewaySigner: signer.address,
    sweeperKey: anvilAccount(SWEEPER_INDEX).privateKey,
    payers,
    deployedAt: known && reusable ? known.deployedAt : new Date().toISOString(),
  };
  const file = writeSandboxEvm(dataDir, record);
  log(`addresses: written to ${file}`);
  return record;
}

/** Standalone: `npx tsx sandbox/evm.ts` runs the EVM sandbox until Ctrl-C (sandbox/start.ts calls startSandboxEvm). */
async function main(): Promise<void> {
  const dataDir = process.env['DATA_DIR'] || '.data';
  const sandbox = await startSandboxEvm({ dataDir, log: (l) => console.log(l) });
  console.log(
    `EVM sandbox ready: ETH@anvil, USDC@anvil, USDT@anvil (payers: anvil accounts ${PAYER_INDEXES.join(', ')})`,
  );
  const stop = async () => {
    await sandbox.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err) => {
    console.error(`EVM sandbox failed: ${(err as Error).message}`);
    process.exit(1);
  });
}
