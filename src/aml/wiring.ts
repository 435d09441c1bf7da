// Builds the screening service from the configuration (src/services.ts calls this; src/worker.ts
// too, with the isolate's list store).
import { JsonRpcProvider, Network } from 'ethers';
import { NETWORKS, type NetworkId } from '../chains/networks';
import { type Config, ORACLE_NETWORKS, oracleVar } from '../config';
import type { Sql } from '../db/client';
import type { StateDeps } from '../invoices/state';
import type { Logger } from '../lib/log';
import { parseKzt } from '../lib/money';
import type { ReporterConfig } from './reports';
import { createScreening, type ListStore, type ScreeningService } from './screen';
import type { OracleTarget } from './screeners/oracle';

export function oraclesFromConfig(config: Config): Partial<Record<NetworkId, OracleTarget>> {
  const out: Partial<Record<NetworkId, OracleTarget>> = {};
  for (const network of ORACLE_NETWORKS) {
    const value = (config as unknown as Record<string, string | undefined>)[oracleVar(network)];
    if (!value) continue;
    const comma = value.indexOf(',');
    const chainId = NETWORKS[network].chainId!;
    out[network] = {
      address: value.slice(0, comma),
      // A static network: no detection round-trips (and no retry noise while the node is down).
      runner: new JsonRpcProvider(value.slice(comma + 1), undefined, {
        staticNetwork: Network.from(chainId),
        cacheTimeout: -1,
      }),
    };
  }
  return out;
}

export const reporterFromConfig = (config: Config): ReporterConfig => ({
  senderCode: config.FM1_SENDER_CODE,
  name: config.AML_REPORTER_NAME,
  bin: config.AML_REPORTER_BIN,
});

export function screeningFromConfig(
  config: Config,
  sql: Sql,
  state: StateDeps,
  logger: Logger,
  shared: { listStore?: ListStore; oracles?: Partial<Record<NetworkId, OracleTarget>> } = {},
): ScreeningService {
  return createScreening({
    sql,
    ...(shared.listStore ? { listStore: shared.listStore } : {}),
    state,
    logger,
    thresholdTiyn: parseKzt(config.AML_THRESHOLD_KZT),
    reporter: reporterFromConfig(config),
    provider: config.SCREENING_PROVIDER_URL
      ? {
          url: config.SCREENING_PROVIDER_URL,
          apiKey: config.SCREENING_PROVIDER_KEY,
          timeoutMs: config.SCREENING_PROVIDER_TIMEOUT_MS,
          failPolicy: config.SCREENING_PROVIDER_FAIL_POLICY,
        }
      : undefined,
    oracles: shared.oracles ?? oraclesFromConfig(config),
    oracleTimeoutMs: config.SCREENING_PROVIDER_TIMEOUT_MS,
    failPolicy: config.SCREENING_PROVIDER_FAIL_POLICY,
  });
}
