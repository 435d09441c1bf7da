// Everything the app and the jobs need, built once per process (on Workers once per request, over what
// the isolate keeps: see src/worker.ts) and passed in: no module-level singletons, so tests build their
// own against a real database.

import type { ScreeningService } from './aml/screen';
import { screeningFromConfig } from './aml/wiring';
import { type AuditKey, auditKeyFromConfig } from './audit/checkpoints';
import { createPasswordHasher, type PasswordHasher } from './auth/passwords';
import { type EvmService, evmServiceFromConfig } from './chains/evm/service';
import type { Family } from './chains/networks';
import type { ChainAdapter } from './chains/types';
import { createUtxoAdapter } from './chains/utxo/adapter';
import { type DeriveMany, deriveInline } from './chains/utxo/derive';
import type { Config } from './config';
import type { Sql } from './db/client';
import { type CredentialLookup, createCredentialLookup } from './http/credentials';
import { policyFromConfig } from './http/ratelimit';
import type { StateDeps } from './invoices/state';
import { createInvoiceStore, type InvoiceStore } from './invoices/store';
import { createLogger, type Logger } from './lib/log';
import { type ApiKeyRecord, createKeyUseRecorder, type KeyMode } from './merchants/apikeys';
import { createRateSourcesFromConfig, createRatesService, type RatesService } from './rates/aggregate';
import { type UtxoService, utxoServiceFromConfig } from './watch/utxo';
import { secretBoxFromConfig } from './webhooks/keys';
import type { SecretBox } from './webhooks/secrets';

export interface Services {
  readonly config: Config;
  readonly sql: Sql;
  readonly rates: RatesService;
  readonly adapters: Readonly<Partial<Record<Family, ChainAdapter>>>;
  readonly logger: Logger;
  /** sk_test_ keys in sandbox and testnet, sk_live_ on mainnet. */
  readonly keyMode: KeyMode;
  readonly state: StateDeps;
  /** AML screening of payers and payments (src/aml/screen.ts). */
  readonly screening: ScreeningService;
  /** EVM networks, watchers, sweepers and the intent signer; undefined when none is configured. */
  readonly evm?: EvmService | undefined;
  /** UTXO watchers (one per configured Bitcoin/Litecoin network); undefined when none is configured. */
  readonly utxo?: UtxoService | undefined;
  /** Checks one invoice's chains now (an open checkout page asks; on Workers there is no loop). */
  readonly checkInvoice?: (invoiceId: string) => Promise<void>;
  /** Encrypts webhook secrets at rest (WEBHOOK_ENCRYPTION_KEY). */
  readonly secretBox: SecretBox;
  /** The merchant API's key and rate-limit lookups, batched across concurrent requests. */
  readonly credentials: CredentialLookup;
  /** The writes of invoice creation, batched across concurrent requests. */
  readonly invoices: InvoiceStore;
  /** Records an API key's last use (at most once a minute per key; see createKeyUseRecorder). */
  readonly noteKeyUse: (found: ApiKeyRecord) => Promise<void>;
  /** Derives UTXO receive addresses: inline, or on a derivation thread (Node, see src/node.ts). */
  readonly deriveAddresses: DeriveMany;
  /** Password checks of the sign-in forms, bounded in how many run at once (src/auth/passwords.ts). */
  readonly passwords: PasswordHasher;
  /** Signs audit checkpoints (with the secret key) and checks them; undefined when none is configured. */
  readonly auditKey?: AuditKey | undefined;
}

export function keyModeFor(config: Config): KeyMode {
  return config.NETWORK_MODE === 'mainnet' ? 'live' : 'test';
}

/** The rate sources and their cache: one per process (Node) or per isolate (Workers, src/worker.ts). */
export function ratesFromConfig(config: Config, logger: Logger): RatesService {
  return createRatesService({
    sources: createRateSourcesFromConfig({
      mode: config.NETWORK_MODE,
      urls: {
        nbk: config.NBK_URL,
        binance: config.BINANCE_URL,
        kraken: config.KRAKEN_URL,
        coingecko: config.COINGECKO_URL,
      },
      timeoutMs: config.RATE_TIMEOUT_MS,
    }),
    maxAgeMs: config.RATE_MAX_AGE_SECONDS * 1000,
    cacheTtlMs: Math.min(config.RATE_CACHE_SECONDS, config.RATE_MAX_AGE_SECONDS) * 1000,
    logger,
  });
}

export interface ServicesOptions {
  /**
   * Offer UTXO options on networks nothing watches (tests that create invoices without a node;
   * never a gateway: a payment there would never be seen).
   */
  readonly offerUnwatched?: boolean;
}

export function createServices(
  config: Config,
  sql: Sql,
  overrides: Partial<Omit<Services, 'config' | 'sql'>> = {},
  options: ServicesOptions = {},
): Services {
  const logger = overrides.logger ?? createLogger(config.LOG_LEVEL);
  const rates = overrides.rates ?? ratesFromConfig(config, logger);
  const state = overrides.state ?? { publicUrl: config.PUBLIC_URL };
  const screening = overrides.screening ?? screeningFromConfig(config, sql, state, logger);
  const evm =
    'evm' in overrides ? overrides.evm : evmServiceFromConfig(config, { sql, state, logger, screening });
  const utxo =
    'utxo' in overrides ? overrides.utxo : utxoServiceFromConfig(config, { sql, state, logger, screening });
  // Each family plugs its own bounded check in here (UTXO: the invoice's addresses, see watch/utxo.ts;
  // EVM: a scan of the invoice's networks unless one ran moments ago, see chains/evm/watcher.ts).
  const checks = [utxo?.checkInvoice.bind(utxo), evm?.checkInvoice.bind(evm)].filter(
    (c): c is (invoiceId: string) => Promise<void> => c !== undefined,
  );
  const checkInvoice =
    'checkInvoice' in overrides
      ? overrides.checkInvoice
      : checks.length > 0
        ? async (invoiceId: string) => {
            await Promise.all(checks.map((c) => c(invoiceId)));
          }
        : undefined;
  const derive = overrides.deriveAddresses ?? deriveInline;
  return {
    config,
    sql,
    rates,
    adapters: overrides.adapters ?? {
      // An option is offered only where something watches its network (SPEC section 2).
      utxo: createUtxoAdapter(
        options.offerUnwatched ? {} : { watched: new Set(utxo?.watchers.map((w) => w.network) ?? []) },
      ),
      ...(evm ? { evm: evm.adapter } : {}),
    },
    logger,
    keyMode: overrides.keyMode ?? keyModeFor(config),
    state,
    screening,
    evm,
    utxo,
    ...(checkInvoice ? { checkInvoice } : {}),
    secretBox: overrides.secretBox ?? secretBoxFromConfig(config),
    credentials: overrides.credentials ?? createCredentialLookup(sql, policyFromConfig(config)),
    invoices: overrides.invoices ?? createInvoiceStore(sql, derive),
    deriveAddresses: derive,
    noteKeyUse: overrides.noteKeyUse ?? createKeyUseRecorder(sql),
    passwords:
      overrides.passwords ??
      createPasswordHasher({
        concurrency: config.SIGN_IN_HASH_CONCURRENCY,
        queue: config.SIGN_IN_HASH_QUEUE,
      }),
    auditKey: 'auditKey' in overrides ? overrides.auditKey : auditKeyFromConfig(config),
  };
}
