// What each setting of src/config.ts means, for docs/operator/configuration.md. The names and defaults
// come from the schema itself (scripts/config-docs.ts); a setting missing here fails the docs test.

export const MEANINGS: Readonly<Record<string, string>> = {
  NETWORK_MODE: '`sandbox` (local chains, fixed rates), `testnet` (public testnets, live rates) or `mainnet`',
  PORT: 'where the HTTP server listens',
  HOST: 'where the HTTP server listens',
  PUBLIC_URL: 'the base of checkout links and webhook payloads',
  DATABASE_URL: '`postgres://…`; unset: PGlite with its data in `DATA_DIR/pg`',
  DATABASE_POOL_MAX:
    'connections in the pool (the embedded database always uses one: PGlite is a single session)',
  DATA_DIR: 'embedded database, sandbox chain state, generated sandbox keys',
  LOG_LEVEL: '`debug`, `info`, `warn`, `error`, `silent` (secrets are redacted from every line)',
  JOBS: 'run the background ticks (expiry, watchers, webhooks) in this process',
  TICK_INTERVAL_MS: 'how often the ticks run',
  DERIVATION_THREADS:
    'Node: threads that derive UTXO addresses off the event loop (`0`: on it; Workers always inline)',
  BODY_LIMIT_BYTES: 'largest accepted request body (larger: `413`)',
  METADATA_LIMIT_BYTES: 'largest invoice `metadata` as JSON',
  INVOICE_EXPIRY_MAX_MINUTES: 'the largest `expiresInMinutes`',
  RATE_TIMEOUT_MS: 'timeout of each call to a rate source',
  RATE_MAX_AGE_SECONDS:
    "a quote older than this is stale and ignored (the National Bank's daily rate has its own limit)",
  RATE_CACHE_SECONDS: 'how long computed rates are reused',
  NBK_URL: 'rate source base URLs (testnet/mainnet)',
  BINANCE_URL: 'rate source base URLs (testnet/mainnet)',
  KRAKEN_URL: 'rate source base URLs (testnet/mainnet)',
  COINGECKO_URL: 'rate source base URLs (testnet/mainnet)',
  SANDBOX_CHAINS:
    'sandbox mode: `npm start` starts anvil and (where installed) litecoind itself, on free loopback ports, unless `npm run sandbox` already runs them for this `DATA_DIR`; `false`: only use a running sandbox',
  SEED_DEMO: 'create the demo merchant and regulator on first sandbox start',
  SSE_POLL_MS: 'how often an open checkout stream re-reads its invoice',
  SSE_MAX_SECONDS: 'how long one checkout stream stays open (the browser reconnects)',
  UTXO_TIMEOUT_MS:
    'per call to a node or Esplora server; transient failures (network, 5xx, 429, a node warming up) are retried with backoff',
  UTXO_RETRIES:
    'per call to a node or Esplora server; transient failures (network, 5xx, 429, a node warming up) are retried with backoff',
  UTXO_SCAN_MAX_BLOCKS: 'blocks one tick scans at most (a node far ahead is caught up over several ticks)',
  UTXO_FINALITY_DEPTH:
    'counted Bitcoin/Litecoin payments are re-checked (confirmations, reorgs, replacements) until this deep',
  UTXO_ESPLORA_CONCURRENCY: 'parallel address look-ups per tick on Esplora',
  UTXO_ESPLORA_RPS:
    'requests per second to one Esplora service, shared by every process; addresses are polled on a schedule (fresh invoices and open checkout pages often, older ones less and less, expired ones rarely) and a 429 pauses polling until Retry-After. `0`: every address every tick (your own server, the sandbox facade)',
  UTXO_ESPLORA_MAX_INTERVAL_SECONDS: "longest wait between polls of an open invoice's address on Esplora",
  GATEWAY_SIGNER_KEY:
    "signs payment intents and deposit flush authorizations (given only while no payment on the deposit is held or rejected by AML review); the contracts check the signature, the key cannot send funds anywhere but the merchant's payout address",
  EVM_SWEEPER_KEY:
    "pays gas to sweep deposit addresses to the merchant's payout address; it never holds merchant funds",
  EVM_RPC_TIMEOUT_MS: 'per JSON-RPC call',
  EVM_RPC_RETRIES: 'per JSON-RPC call',
  EVM_SCAN_MAX_BLOCKS: 'blocks one tick scans at most / depth to which payments are re-checked for reorgs',
  EVM_FINALITY_DEPTH: 'blocks one tick scans at most / depth to which payments are re-checked for reorgs',
  AML_THRESHOLD_KZT:
    'the digital-asset reporting threshold in tenge (reported, not held); **check it against the current law**',
  SCREENING_PROVIDER_URL: 'an outside screening API (Chainalysis sanctions API shape by default)',
  SCREENING_PROVIDER_KEY: 'an outside screening API (Chainalysis sanctions API shape by default)',
  SCREENING_PROVIDER_TIMEOUT_MS:
    'when the provider fails or times out the payment is held (`hold`) or let through (`allow`)',
  SCREENING_PROVIDER_FAIL_POLICY:
    'when the provider fails or times out the payment is held (`hold`) or let through (`allow`)',
  AML_REPORTER_NAME: 'the reporting entity written into FM-1 drafts (BIN: 12 digits)',
  AML_REPORTER_BIN: 'the reporting entity written into FM-1 drafts (BIN: 12 digits)',
  FM1_SENDER_CODE: 'the reporting entity written into FM-1 drafts (BIN: 12 digits)',
  REGULATOR_SCRYPT_LOG_N: 'scrypt cost (log2 N) of console and dashboard passwords',
  DASHBOARD_SCRYPT_LOG_N: 'scrypt cost (log2 N) of console and dashboard passwords',
  SIGN_IN_HASH_CONCURRENCY:
    'password hashes run at once per process, and sign-ins that may wait; beyond them `503` with `Retry-After`',
  SIGN_IN_HASH_QUEUE:
    'password hashes run at once per process, and sign-ins that may wait; beyond them `503` with `Retry-After`',
  AUDIT_SIGNING_KEY:
    'Ed25519 key (64 hex digits, `openssl rand -hex 32`) that signs audit checkpoints; kept outside the database (sandbox: generated into `DATA_DIR/audit-signing.key`)',
  AUDIT_PUBLIC_KEY: 'a host that only verifies audit checkpoints is given the public key instead',
  AUDIT_TRUSTED_PUBLIC_KEYS:
    'after a rotation, the public keys of earlier signing keys (comma-separated hex); their checkpoints still verify, unless signed after the next key took over',
  AUDIT_CHECKPOINT_INTERVAL_SECONDS:
    "how often the background jobs sign the audit log's head into a checkpoint",
  REGULATOR_LOCKOUT_ATTEMPTS: 'failed sign-ins before an account is locked, and for how long',
  REGULATOR_LOCKOUT_MINUTES:
    'how long a lock lasts; also how long failed sign-ins are remembered: a count with no attempt for this long starts again from zero (for unknown emails too)',
  DASHBOARD_LOCKOUT_ATTEMPTS: 'failed sign-ins before an account is locked, and for how long',
  DASHBOARD_LOCKOUT_MINUTES:
    'how long a lock lasts; also how long failed sign-ins are remembered: a count with no attempt for this long starts again from zero (for unknown emails too)',
  AUTH_FAILURES_PER_KEY:
    'failed authentications (API keys, sign-ins) allowed per key and per client address within the window; past it `429` with `Retry-After`',
  AUTH_FAILURES_PER_ADDRESS:
    'failed authentications (API keys, sign-ins) allowed per key and per client address within the window (an IPv6 client counts by its /64); past it `429` with `Retry-After`',
  AUTH_FAILURE_WINDOW_SECONDS:
    'the window of those counters (kept in PostgreSQL, so every process shares them)',
  TRUST_PROXY:
    "take the client address from the last `X-Forwarded-For` entry (set it behind a reverse proxy, or every client shares the proxy's address); Workers use `cf-connecting-ip`",
  WEBHOOK_ENCRYPTION_KEY:
    'base64 of 32 random bytes (`openssl rand -base64 32`); encrypts endpoint secrets at rest (AES-256-GCM). Keep it: stored secrets cannot be used without it',
  WEBHOOK_ALLOW_PRIVATE: 'allow receivers on loopback and private addresses (local development)',
  WEBHOOK_TIMEOUT_MS: "time allowed for a receiver's complete answer",
  WEBHOOK_RETRY_SCHEDULE:
    'the delay before each attempt (units `ms`, `s`, `m`, `h`, `d`); the count of entries is the count of attempts',
  WEBHOOK_RETRY_JITTER_PERCENT: 'each delay is moved by up to ± this percentage',
  WEBHOOK_CONCURRENCY: 'deliveries sent at once per process and tick round',
};

/** Settings read by pattern, per network (the chains env modules): no single schema key. */
export const PATTERNS: readonly {
  readonly variable: string;
  readonly default: string;
  readonly meaning: string;
}[] = [
  {
    variable: '`<NETWORK>_RPC_URL`',
    default: '—',
    meaning:
      'a Bitcoin Core-compatible node for that UTXO network, `http://user:password@host:port` (bitcoind or litecoind; `-txindex=1` lets the gateway name senders of transactions first seen in a block), e.g. `LITECOIN_REGTEST_RPC_URL`, `BITCOIN_TESTNET4_RPC_URL`; in sandbox mode the Litecoin regtest node that `npm start` runs (or the one `npm run sandbox` runs) is used when unset',
  },
  {
    variable: '`<NETWORK>_ESPLORA_URL`',
    default: '—',
    meaning:
      'an Esplora REST API instead of a node, e.g. `BITCOIN_TESTNET4_ESPLORA_URL=https://mempool.space/testnet4/api` (a node wins when both are set; only networks of the current `NETWORK_MODE` are watched)',
  },
  {
    variable: '`<NETWORK>_RPC_URLS` (EVM)',
    default: '—',
    meaning:
      'comma-separated JSON-RPC URLs of an EVM network, tried in order, e.g. `ETHEREUM_SEPOLIA_RPC_URLS`; sandbox mode uses the anvil node that `npm start` runs (or the one `npm run sandbox` runs)',
  },
  {
    variable: '`<NETWORK>_ROUTER_ADDRESS`, `<NETWORK>_DEPOSIT_FACTORY_ADDRESS`',
    default: '—',
    meaning:
      'the project\'s PaymentRouter and DepositFactory on that network (see "Deploying the contracts to a public testnet")',
  },
  {
    variable: '`<NETWORK>_USDC_ADDRESS`, `<NETWORK>_USDT_ADDRESS`',
    default: '—',
    meaning: 'the stablecoin contracts accepted on that network',
  },
  {
    variable: '`<NETWORK>_START_BLOCK`',
    default: 'latest',
    meaning: 'the block the EVM scanner starts from on a fresh database',
  },
  {
    variable: '`SANCTIONS_ORACLE_<NETWORK>`',
    default: '—',
    meaning: '`<0x oracle address>,<RPC URL>`: the on-chain sanctions oracle consulted on EVM networks',
  },
];
