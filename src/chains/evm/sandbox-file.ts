// Node only. The sandbox's EVM side as the gateway finds it: `npm run sandbox` deploys the contracts
// on anvil and writes their addresses into DATA_DIR/sandbox.json; the gateway's intent-signing key
// is generated once and kept in DATA_DIR/gateway-signer.key (the router is deployed trusting it).
// Variables set in the environment always win over both files.
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Wallet } from 'ethers';
import type { Config } from '../../config';
import { ConfigError, oracleVar } from '../../config';
import { evmVar } from './env';

export const SANDBOX_FILE = 'sandbox.json';
export const SIGNER_KEY_FILE = 'gateway-signer.key';

/** What `npm run sandbox` records about the anvil chain. */
export interface SandboxEvmRecord {
  readonly chainId: number;
  readonly rpcUrl: string;
  readonly router: string;
  readonly depositFactory: string;
  readonly usdc: string;
  readonly usdt: string;
  readonly sanctionsOracle: string;
  /** The address the router accepts intents from (the gateway signer). */
  readonly gatewaySigner: string;
  /** A funded anvil account that pays for sweeps (anvil's well-known keys: sandbox only). */
  readonly sweeperKey: string;
  /** Funded payer accounts (ETH, test USDC and USDT) that `npm run sandbox:pay` uses. */
  readonly payers: readonly string[];
  readonly deployedAt: string;
}

export function readSandboxFile(dataDir: string): Record<string, unknown> {
  const file = join(dataDir, SANDBOX_FILE);
  if (!existsSync(file)) return {};
  try {
    const v = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch (err) {
    throw new ConfigError([
      `${file}: not valid JSON (${(err as Error).message}); delete it and run npm run sandbox`,
    ]);
  }
}

export function readSandboxEvm(dataDir: string): SandboxEvmRecord | undefined {
  const evm = readSandboxFile(dataDir)['evm'] as { anvil?: SandboxEvmRecord } | undefined;
  return evm?.anvil;
}

/** Writes the anvil record, keeping whatever else the file holds (the Litecoin side, say). */
export function writeSandboxEvm(dataDir: string, record: SandboxEvmRecord): string {
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, SANDBOX_FILE);
  const all = readSandboxFile(dataDir);
  const evm = (all['evm'] as Record<string, unknown> | undefined) ?? {};
  const next = { ...all, evm: { ...evm, anvil: record } };
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(next, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, file);
  return file;
}

/** The sandbox gateway signer: read from DATA_DIR, or generated there on first use (mode 0600). */
export function sandboxSignerKey(dataDir: string): { key: string; address: string; created: boolean } {
  const file = join(dataDir, SIGNER_KEY_FILE);
  if (existsSync(file)) {
    const key = readFileSync(file, 'utf8').trim();
    if (!/^0x[0-9a-fA-F]{64}$/.test(key)) throw new ConfigError([`${file}: expected 0x and 64 hex digits`]);
    return { key, address: new Wallet(key).address, created: false };
  }
  mkdirSync(dataDir, { recursive: true });
  const wallet = Wallet.createRandom();
  try {
    writeFileSync(file, `${wallet.privateKey}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as { code?: string }).code === 'EEXIST') return sandboxSignerKey(dataDir);
    throw err;
  }
  chmodSync(file, 0o600);
  return { key: wallet.privateKey, address: wallet.address, created: true };
}

/**
 * In sandbox mode, fills the anvil settings the environment leaves unset from DATA_DIR: the RPC URL,
 * contract addresses and mock sanctions oracle (SANCTIONS_ORACLE_ANVIL) from sandbox.json, the
 * signer key from gateway-signer.key, the sweeper key from sandbox.json. Other modes are returned
 * unchanged (their values come from the environment).
 */
export function withSandboxEvm(config: Config, useRecords = true): Config {
  if (config.NETWORK_MODE !== 'sandbox') return config;
  const env = config as unknown as Record<string, unknown>;
  // useRecords false: sandbox.json's chains are stopped (src/chains/sandbox-owner.ts).
  const rec = useRecords ? readSandboxEvm(config.DATA_DIR) : undefined;
  const fill: Record<string, unknown> = {};
  const set = (name: string, value: string | undefined) => {
    if (value !== undefined && (env[name] === undefined || env[name] === '')) fill[name] = value;
  };
  if (rec) {
    set(evmVar('anvil', 'RPC_URLS'), rec.rpcUrl);
    set(evmVar('anvil', 'ROUTER_ADDRESS'), rec.router);
    set(evmVar('anvil', 'DEPOSIT_FACTORY_ADDRESS'), rec.depositFactory);
    set(evmVar('anvil', 'USDC_ADDRESS'), rec.usdc);
    set(evmVar('anvil', 'USDT_ADDRESS'), rec.usdt);
    set('EVM_SWEEPER_KEY', rec.sweeperKey);
    // The mock oracle the router already consults: the gateway screens payers with it too.
    if (rec.sanctionsOracle) set(oracleVar('anvil'), `${rec.sanctionsOracle},${rec.rpcUrl}`);
  }
  if (!config.GATEWAY_SIGNER_KEY) fill['GATEWAY_SIGNER_KEY'] = sandboxSignerKey(config.DATA_DIR).key;
  return { ...config, ...fill } as Config;
}
