// The on-chain sanctions oracle (Chainalysis' `isSanctioned(address)`; the sandbox deploys a mock with
// the same interface) on the EVM networks where one is configured. A failed or slow call follows the
// same fail policy as the outside provider.
import { Contract, type ContractRunner, isAddress } from 'ethers';
import type { NetworkId } from '../../chains/networks';
import { type Reason, type Risk, result, type Screener } from '../types';
import type { FailPolicy } from './provider';

const ORACLE_ABI = ['function isSanctioned(address addr) view returns (bool)'];

export interface OracleTarget {
  readonly address: string;
  /** A provider for the network (ethers JsonRpcProvider); build it with `cacheTimeout: -1`. */
  readonly runner: ContractRunner;
}

export interface OracleOptions {
  readonly oracles: Partial<Record<NetworkId, OracleTarget>>;
  readonly timeoutMs: number;
  readonly failPolicy: FailPolicy;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

export function createOracleScreener(opts: OracleOptions): Screener {
  const contracts = new Map<NetworkId, Contract>();
  for (const [network, t] of Object.entries(opts.oracles) as [NetworkId, OracleTarget][]) {
    contracts.set(network, new Contract(t.address, ORACLE_ABI, t.runner));
  }
  return {
    name: 'oracle',
    async screen(s) {
      const oracle = contracts.get(s.network);
      if (!oracle) return result('oracle', 'none');
      const addresses = [...new Set(s.addresses)].filter((a) => isAddress(a));
      let risk: Risk = 'none';
      const reasons: Reason[] = [];
      await Promise.all(
        addresses.map(async (address) => {
          try {
            const isSanctioned = oracle.getFunction('isSanctioned');
            const hit = (await withTimeout(isSanctioned.staticCall(address), opts.timeoutMs)) as boolean;
            if (hit) {
              risk = 'severe';
              reasons.push({
                code: 'oracle_sanctioned',
                message: `${address} is sanctioned by the on-chain oracle`,
              });
            }
          } catch (err) {
            if (opts.failPolicy === 'hold' && risk !== 'severe') risk = 'high';
            reasons.push({
              code: 'oracle_unavailable',
              message: `the sanctions oracle on ${s.network} could not screen ${address} (${(err as Error).message})`,
            });
          }
        }),
      );
      return result('oracle', risk, reasons);
    },
  };
}
