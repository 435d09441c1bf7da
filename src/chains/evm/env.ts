// The EVM part of the environment (src/config.ts spreads these in): per-network RPC URLs, contract and
// token addresses, and the two keys. GATEWAY_SIGNER_KEY only signs payment intents (the router checks
// it; it cannot move funds); EVM_SWEEPER_KEY only pays gas for sweeping deposit addresses, whose
// destination the forwarder contract fixes.
import { getAddress } from 'ethers';
import { z } from 'zod';
import { NETWORKS, type NetworkId } from '../networks';

export const EVM_NETWORK_IDS = (Object.keys(NETWORKS) as NetworkId[]).filter(
  (n) => NETWORKS[n].family === 'evm',
);

export type EvmVarSuffix =
  | 'RPC_URLS'
  | 'ROUTER_ADDRESS'
  | 'DEPOSIT_FACTORY_ADDRESS'
  | 'USDC_ADDRESS'
  | 'USDT_ADDRESS'
  | 'START_BLOCK';

/** `ethereum-sepolia` + `RPC_URLS` → `ETHEREUM_SEPOLIA_RPC_URLS`. */
export const evmVar = (network: NetworkId, suffix: EvmVarSuffix): string =>
  `${network.toUpperCase().replace(/-/g, '_')}_${suffix}`;

const blank = (v: string | undefined) => v === undefined || v.trim() === '';

function isHttpUrl(v: string): boolean {
  try {
    const u = new URL(v);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}

/** Lower- or upper-case hex, or mixed case with a valid EIP-55 checksum. */
export function isEvmAddress(v: string): boolean {
  if (!/^0x[0-9a-fA-F]{40}$/.test(v)) return false;
  try {
    getAddress(v);
    return true;
  } catch {
    return false;
  }
}

const rpcUrls = z
  .string()
  .optional()
  .transform((v) => (blank(v) ? undefined : v!.trim()))
  .refine(
    (v) => v === undefined || v.split(',').every((u) => isHttpUrl(u.trim())),
    'expected one or more http(s) URLs separated by commas (tried in order)',
  );

const address = z
  .string()
  .optional()
  .transform((v) => (blank(v) ? undefined : v!.trim()))
  .refine(
    (v) => v === undefined || isEvmAddress(v),
    'expected a 0x address of 40 hex digits (mixed case must be a valid EIP-55 checksum)',
  );

const startBlock = z
  .string()
  .optional()
  .transform((v) => (blank(v) ? undefined : v!.trim()))
  .refine((v) => v === undefined || /^(0|[1-9][0-9]{0,15})$/.test(v), 'expected a block number');

const privateKey = z
  .string()
  .optional()
  .transform((v) => (blank(v) ? undefined : v!.trim()))
  .refine(
    (v) => v === undefined || (/^0x[0-9a-fA-F]{64}$/.test(v) && !/^0x0{64}$/.test(v)),
    'expected a private key: 0x followed by 64 hex digits',
  );

const intVar = (def: number, min: number, max: number) =>
  z
    .string()
    .default(String(def))
    .transform((v, ctx) => {
      const n = /^[0-9]+$/.test(v.trim()) ? Number(v.trim()) : Number.NaN;
      if (!Number.isSafeInteger(n) || n < min || n > max) {
        ctx.addIssue({ code: 'custom', message: `expected a whole number from ${min} to ${max}` });
        return z.NEVER;
      }
      return n;
    });

const perNetwork: Record<string, z.ZodType> = {};
for (const n of EVM_NETWORK_IDS) {
  perNetwork[evmVar(n, 'RPC_URLS')] = rpcUrls;
  perNetwork[evmVar(n, 'ROUTER_ADDRESS')] = address;
  perNetwork[evmVar(n, 'DEPOSIT_FACTORY_ADDRESS')] = address;
  perNetwork[evmVar(n, 'USDC_ADDRESS')] = address;
  perNetwork[evmVar(n, 'USDT_ADDRESS')] = address;
  perNetwork[evmVar(n, 'START_BLOCK')] = startBlock;
}

/** Spread into the config schema. */
export const evmEnvSchema = {
  ...perNetwork,
  GATEWAY_SIGNER_KEY: privateKey,
  EVM_SWEEPER_KEY: privateKey,
  EVM_RPC_TIMEOUT_MS: intVar(5000, 100, 120_000),
  EVM_RPC_RETRIES: intVar(2, 0, 10),
  EVM_SCAN_MAX_BLOCKS: intVar(100, 1, 10_000),
  EVM_FINALITY_DEPTH: intVar(24, 1, 10_000),
};
