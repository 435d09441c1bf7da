// One zod schema over the environment. A bad value stops the start with a message naming the variable
// and what it expects; docs/operator/configuration.md is generated from it (scripts/config-docs.ts).
import { z } from 'zod';
import { ed25519PublicKeyProblem } from './audit/public-key';
import { evmEnvSchema } from './chains/evm/env';
import { utxoEnvSchema } from './chains/utxo/backends/env';
import { DEFAULT_RETRY_SCHEDULE, parseRetrySchedule, RetryScheduleError } from './webhooks/schedule';
import { createSecretBox } from './webhooks/secrets';

const bool = (def: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'expected true or false' })
    .default(def ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1' || v === 'yes');

const int = (def: number, min: number, max: number) =>
  z
    .string()
    .default(String(def))
    .transform((v, ctx) => {
      const n = /^-?[0-9]+$/.test(v.trim()) ? Number(v.trim()) : Number.NaN;
      if (!Number.isSafeInteger(n) || n < min || n > max) {
        ctx.addIssue({ code: 'custom', message: `expected a whole number from ${min} to ${max}` });
        return z.NEVER;
      }
      return n;
    });

const url = (msg = 'expected an http(s) URL') =>
  z.string().refine((v) => {
    try {
      const u = new URL(v);
      return u.protocol === 'http:' || u.protocol === 'https:';
    } catch {
      return false;
    }
  }, msg);

const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

// SANCTIONS_ORACLE_<NETWORK>="<0x oracle address>,<RPC URL>": the on-chain isSanctioned oracle.
export const ORACLE_NETWORKS = [
  'ethereum',
  'ethereum-sepolia',
  'base-sepolia',
  'polygon-amoy',
  'anvil',
] as const;
export const oracleVar = (network: string): `SANCTIONS_ORACLE_${string}` =>
  `SANCTIONS_ORACLE_${network.toUpperCase().replace(/-/g, '_')}`;
const sanctionsOracle = optionalString.refine(
  (v) => v === undefined || /^0x[0-9a-fA-F]{40},https?:\/\/\S+$/.test(v),
  'expected "<0x oracle address>,<http(s) RPC URL>"',
);

export const configSchema = z
  .object({
    NETWORK_MODE: z
      .enum(['sandbox', 'testnet', 'mainnet'], { error: 'expected sandbox, testnet or mainnet' })
      .default('sandbox'),
    PORT: int(8787, 0, 65535),
    HOST: z.string().min(1).default('127.0.0.1'),
    PUBLIC_URL: z.union([url(), z.literal('')]).optional(),
    DATABASE_URL: optionalString.refine(
      (v) => v === undefined || /^postgres(ql)?:\/\//.test(v),
      'expected a postgres:// connection string',
    ),
    DATABASE_POOL_MAX: int(10, 1, 200),
    DATA_DIR: z.string().min(1).default('.data'),
    LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
    JOBS: bool(true),
    TICK_INTERVAL_MS: int(1000, 50, 600_000),
    // Node only: threads that derive UTXO addresses off the event loop (0: on it).
    DERIVATION_THREADS: int(1, 0, 16),
    BODY_LIMIT_BYTES: int(64 * 1024, 1024, 10 * 1024 * 1024),
    METADATA_LIMIT_BYTES: int(8 * 1024, 64, 1024 * 1024),
    INVOICE_EXPIRY_MAX_MINUTES: int(7 * 24 * 60, 1, 30 * 24 * 60),
    RATE_TIMEOUT_MS: int(5000, 100, 60_000),
    RATE_MAX_AGE_SECONDS: int(300, 5, 86_400),
    RATE_CACHE_SECONDS: int(30, 0, 3600),
    NBK_URL: url().default('https://nationalbank.kz'),
    BINANCE_URL: url().default('https://api.binance.com'),
    KRAKEN_URL: url().default('https://api.kraken.com'),
    COINGECKO_URL: url().default('https://api.coingecko.com'),
    SEED_DEMO: bool(true),
    // Sandbox mode: `npm start` starts the local chains (anvil; litecoind where installed) unless a
    // sandbox from `npm run sandbox` already runs for DATA_DIR; false: only that one (or none).
    SANDBOX_CHAINS: bool(true),
    // AML (SPEC section 7). The threshold is a setting: check it against the current law.
    AML_THRESHOLD_KZT: z
      .string()
      .regex(/^(0|[1-9][0-9]{0,15})(\.[0-9]{1,2})?$/, 'expected a tenge amount such as 5000000.00')
      .default('5000000.00'),
    SCREENING_PROVIDER_URL: z.union([url(), z.literal('')]).optional(),
    SCREENING_PROVIDER_KEY: optionalString,
    SCREENING_PROVIDER_TIMEOUT_MS: int(3000, 100, 60_000),
    SCREENING_PROVIDER_FAIL_POLICY: z
      .enum(['hold', 'allow'], { error: 'expected hold or allow' })
      .default('hold'),
    ...Object.fromEntries(ORACLE_NETWORKS.map((n) => [oracleVar(n), sanctionsOracle])),
    // EVM networks (<NETWORK>_RPC_URLS, _ROUTER_ADDRESS, _DEPOSIT_FACTORY_ADDRESS, _USDC_ADDRESS, …) and keys.
    ...evmEnvSchema,
    // UTXO networks (<NETWORK>_RPC_URL or <NETWORK>_ESPLORA_URL) and the watcher's limits.
    ...utxoEnvSchema,
    AML_REPORTER_NAME: z.string().min(1).max(500).default('Alatau Pay'),
    AML_REPORTER_BIN: optionalString.refine(
      (v) => v === undefined || /^[0-9]{12}$/.test(v),
      'expected 12 digits',
    ),
    FM1_SENDER_CODE: z
      .string()
      .regex(/^[A-Z0-9]{1,32}$/, 'expected 1 to 32 of A-Z and 0-9')
      .default('ALATAUPAY'),
    REGULATOR_SCRYPT_LOG_N: int(15, 10, 20),
    REGULATOR_LOCKOUT_ATTEMPTS: int(5, 1, 100),
    REGULATOR_LOCKOUT_MINUTES: int(15, 1, 24 * 60),
    // Merchant dashboard sign-in (src/dashboard): scrypt cost and the lockout after failed passwords.
    DASHBOARD_SCRYPT_LOG_N: int(15, 10, 20),
    DASHBOARD_LOCKOUT_ATTEMPTS: int(5, 1, 100),
    DASHBOARD_LOCKOUT_MINUTES: int(15, 1, 24 * 60),
    // Password hashes computed at once per process (each holds 32 MiB at cost 15), and sign-ins that
    // may wait for one; beyond them a sign-in is refused with 503 and Retry-After (src/auth/gate.ts).
    SIGN_IN_HASH_CONCURRENCY: int(2, 1, 64),
    SIGN_IN_HASH_QUEUE: int(8, 0, 10_000),
    // Failed authentications (bearer keys, sign-in forms) per presented key and per client address in
    // a window, shared through the database by every process; past either limit the answer is 429.
    AUTH_FAILURES_PER_KEY: int(10, 1, 100_000),
    AUTH_FAILURES_PER_ADDRESS: int(50, 1, 1_000_000),
    AUTH_FAILURE_WINDOW_SECONDS: int(300, 1, 86_400),
    // Behind a reverse proxy: take the client address from the last X-Forwarded-For entry.
    TRUST_PROXY: bool(false),
    SSE_POLL_MS: int(1000, 50, 60_000),
    SSE_MAX_SECONDS: int(300, 1, 3600),
    // Webhooks. The key is required outside sandbox (src/node.ts stops without it); sandbox keeps one
    // under DATA_DIR. Private receivers are allowed by default in sandbox only.
    WEBHOOK_ENCRYPTION_KEY: optionalString.refine((v) => {
      if (v === undefined) return true;
      try {
        createSecretBox(v);
        return true;
      } catch {
        return false;
      }
    }, 'expected base64 of 32 random bytes (openssl rand -base64 32)'),
    // Audit checkpoints (SPEC section 7): the Ed25519 key (hex, 32 bytes) that signs the audit chain's
    // head, kept outside the database (sandbox: generated under DATA_DIR by src/node.ts and the CLI);
    // a host that only verifies may be given the public key alone.
    AUDIT_SIGNING_KEY: optionalString.refine(
      (v) => v === undefined || /^(0x)?[0-9a-fA-F]{64}$/.test(v),
      'expected 64 hex digits (an Ed25519 secret key: openssl rand -hex 32)',
    ),
    AUDIT_PUBLIC_KEY: optionalString.refine(
      (v) => v === undefined || ed25519PublicKeyProblem(v) === undefined,
      'expected 64 hex digits (an Ed25519 public key, not a small-order point)',
    ),
    // Rotation: the public keys of earlier signing keys, whose checkpoints still verify.
    AUDIT_TRUSTED_PUBLIC_KEYS: optionalString.refine(
      (v) =>
        v === undefined ||
        v.split(/[\s,]+/).every((k) => k === '' || ed25519PublicKeyProblem(k) === undefined),
      'expected Ed25519 public keys (64 hex digits each, no small-order point), separated by commas',
    ),
    AUDIT_CHECKPOINT_INTERVAL_SECONDS: int(3600, 10, 7 * 86_400),
    WEBHOOK_ALLOW_PRIVATE: z
      .enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'expected true or false' })
      .optional()
      .transform((v) => (v === undefined ? undefined : v === 'true' || v === '1' || v === 'yes')),
    WEBHOOK_TIMEOUT_MS: int(15_000, 100, 60_000),
    WEBHOOK_RETRY_SCHEDULE: z
      .string()
      .default(DEFAULT_RETRY_SCHEDULE)
      .transform((v, ctx) => {
        try {
          return parseRetrySchedule(v);
        } catch (e) {
          ctx.addIssue({ code: 'custom', message: e instanceof RetryScheduleError ? e.message : 'invalid' });
          return z.NEVER;
        }
      }),
    WEBHOOK_RETRY_JITTER_PERCENT: int(10, 0, 50),
    WEBHOOK_CONCURRENCY: int(16, 1, 256),
  })
  .transform((c) => ({
    ...c,
    WEBHOOK_ALLOW_PRIVATE: c.WEBHOOK_ALLOW_PRIVATE ?? c.NETWORK_MODE === 'sandbox',
    PUBLIC_URL: (c.PUBLIC_URL || `http://${c.HOST === '0.0.0.0' ? '127.0.0.1' : c.HOST}:${c.PORT}`).replace(
      /\/+$/,
      '',
    ),
  }));

export type Config = z.infer<typeof configSchema>;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code = 'invalid_config';
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/** Parses the environment; throws ConfigError listing every bad variable with what it expects. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const clean: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (typeof v === 'string') clean[k] = v;
  const parsed = configSchema.safeParse(clean);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((i) => {
    const name = String(i.path[0] ?? '(environment)');
    const got = clean[name];
    // Never echo a value that may hold a credential.
    const show = got !== undefined && !/DATABASE_URL|RPC_URL|KEY|SECRET|PASSWORD|TOKEN/.test(name);
    return `${name}: ${i.message}${show ? ` (got "${got.length > 60 ? `${got.slice(0, 60)}…` : got}")` : ''}`;
  });
  throw new ConfigError(problems);
}
