// Sandbox first start: a demo merchant whose keys are the published BIP84 test vector ("abandon … about"),
// a public watch-only key whose private half is famous: fine for a sandbox, never for real money;
// and a demo regulator for the review console. Passwords and keys are generated and shown once.
import { createDashboardUser, generatePassword } from './dashboard/users';
import type { Sql } from './db/client';
import { ConflictError } from './lib/errors';
import type { KeyMode } from './merchants/apikeys';
import { createMerchant } from './merchants/repository';
import { createRegulator } from './regulator/accounts';
import { createEndpoint } from './webhooks/repository';
import { DEMO_WEBHOOK_SETTING } from './webhooks/sandbox-receiver';
import type { SecretBox } from './webhooks/secrets';

export const DEMO_EVM_PAYOUT = '0x23618e81E3f5cdF7f54C3d65f7FBc0aBf5B21E8f';

export const DEMO_VPUB =
  'vpub5Y6cjg78GGuNLsaPhmYsiw4gYX3HoQiRBiSwDaBXKUafCt9bNwWQiitDk5VZ5BVxYnQdwoTyXSs2JHRPAgjAvtbBrf8ZhDYe2jWAqvZVnsc';

export const DEMO_DASHBOARD_EMAIL = 'demo@alatau.test';
export const DEMO_REGULATOR_EMAIL = 'regulator@alatau.test';
export const DEMO_REGULATOR_NAME = 'Demo Regulator';

export interface DemoMerchantSeed {
  readonly merchantId: string;
  readonly apiKey: string;
  /** The demo dashboard user (/dashboard). */
  readonly dashboard: { readonly email: string; readonly password: string };
}

export interface DemoRegulatorSeed {
  readonly regulatorId: string;
  /** Console sign-in at /regulator. */
  readonly email: string;
  readonly password: string;
  /** For the regulator API (/v1/regulator). */
  readonly apiKey: string;
}

/** What this start created: each part only the first time, so its secrets are printed once. */
export interface DemoSeed {
  readonly merchant?: DemoMerchantSeed;
  readonly regulator?: DemoRegulatorSeed;
}

export interface SeedOptions {
  /** Dashboard scrypt cost (DASHBOARD_SCRYPT_LOG_N). */
  readonly scryptLogN?: number;
  /** Regulator scrypt cost (REGULATOR_SCRYPT_LOG_N). */
  readonly regulatorScryptLogN?: number;
  /**
   * The gateway's own sandbox receiver (`${PUBLIC_URL}/sandbox/webhooks`): the demo merchant gets an
   * endpoint there, so a first paid invoice ends with a delivered webhook.
   */
  readonly webhook?: { readonly url: string; readonly secretBox: SecretBox };
}

/**
 * Creates the demo merchant and the demo regulator, each once. Each has its own marker, so a database
 * seeded before the demo regulator existed gets the regulator on its next start, and nothing twice.
 */
export async function seedDemo(sql: Sql, mode: KeyMode, opts: SeedOptions = {}): Promise<DemoSeed> {
  const merchant = await seedMerchant(sql, mode, opts);
  const regulator = await seedRegulator(sql, opts);
  if (opts.webhook) await seedWebhook(sql, opts.webhook);
  return { ...(merchant ? { merchant } : {}), ...(regulator ? { regulator } : {}) };
}

async function seeded(sql: Sql, key: string): Promise<boolean> {
  const [row] = await sql`select 1 from settings where key = ${key}`;
  return row !== undefined;
}

async function markSeeded(sql: Sql, key: string, value: Record<string, string>): Promise<void> {
  await sql`insert into settings (key, value) values (${key}, ${sql.json(value)}) on conflict (key) do nothing`;
}

async function seedMerchant(
  sql: Sql,
  mode: KeyMode,
  opts: SeedOptions,
): Promise<DemoMerchantSeed | undefined> {
  if (await seeded(sql, 'demo_seeded')) return undefined;
  const { merchant, apiKey } = await createMerchant(
    sql,
    {
      name: 'Alatau Demo Café',
      mode,
      // The sandbox's chains only: litecoind regtest (no Bitcoin node ships with it) and anvil. An option
      // on a chain nothing watches would take a payment no one ever sees.
      xpubs: { 'litecoin-regtest': DEMO_VPUB },
      // Anvil's default account 8: a sandbox payout address whose key every anvil user knows.
      evmPayout: DEMO_EVM_PAYOUT,
    },
    'seed',
  );
  const password = generatePassword();
  await createDashboardUser(
    sql,
    {
      merchantId: merchant.id,
      email: DEMO_DASHBOARD_EMAIL,
      password,
      ...(opts.scryptLogN ? { scryptLogN: opts.scryptLogN } : {}),
    },
    'seed',
  );
  await markSeeded(sql, 'demo_seeded', { merchantId: merchant.id });
  return {
    merchantId: merchant.id,
    apiKey: apiKey.apiKey,
    dashboard: { email: DEMO_DASHBOARD_EMAIL, password },
  };
}

async function seedRegulator(sql: Sql, opts: SeedOptions): Promise<DemoRegulatorSeed | undefined> {
  if (await seeded(sql, 'demo_regulator_seeded')) return undefined;
  const password = generatePassword();
  try {
    const { regulator, apiKey } = await createRegulator(
      sql,
      {
        name: DEMO_REGULATOR_NAME,
        email: DEMO_REGULATOR_EMAIL,
        password,
        ...(opts.regulatorScryptLogN ? { scryptLogN: opts.regulatorScryptLogN } : {}),
      },
      'seed',
    );
    await markSeeded(sql, 'demo_regulator_seeded', { regulatorId: regulator.id });
    return { regulatorId: regulator.id, email: regulator.email, password, apiKey: apiKey.apiKey };
  } catch (err) {
    // Someone already made an account with this email (the CLI, or a second process starting at the
    // same moment): theirs stands, and its password is not ours to print.
    if (!(err instanceof ConflictError)) throw err;
    await markSeeded(sql, 'demo_regulator_seeded', { existing: DEMO_REGULATOR_EMAIL });
    return undefined;
  }
}

/**
 * The demo merchant's endpoint at the sandbox receiver: created when the demo merchant has no endpoint
 * (so a database seeded before the receiver existed gets it too), and moved along when the gateway
 * starts on another address, since it is the gateway's own. An endpoint the merchant made stays theirs.
 */
async function seedWebhook(sql: Sql, hook: NonNullable<SeedOptions['webhook']>): Promise<void> {
  const [demo] = await sql`select value->>'merchantId' as id from settings where key = 'demo_seeded'`;
  const merchantId = demo?.id as string | undefined;
  if (!merchantId) return;
  const [known] =
    await sql`select value->>'endpointId' as id from settings where key = ${DEMO_WEBHOOK_SETTING}`;
  if (known) {
    await sql`update webhook_endpoints set url = ${hook.url}, updated_at = now()
      where id = ${known.id} and merchant_id = ${merchantId} and deleted_at is null and url <> ${hook.url}`;
    return;
  }
  const [any] =
    await sql`select 1 from webhook_endpoints where merchant_id = ${merchantId} and deleted_at is null`;
  if (any) return;
  const { endpoint } = await createEndpoint(
    { sql, secretBox: hook.secretBox, urlCheck: { allowPrivate: true } },
    merchantId,
    { url: hook.url },
  );
  await markSeeded(sql, DEMO_WEBHOOK_SETTING, { endpointId: endpoint.id });
}

/** The first-start message for the person at the terminal; empty when this start created nothing. */
export function formatDemoSeed(demo: DemoSeed, publicUrl: string): string {
  let out = '';
  if (demo.merchant) {
    const m = demo.merchant;
    out +=
      `\nSandbox demo merchant created (shown once):\n  merchant: ${m.merchantId}\n  API key:  ${m.apiKey}\n` +
      `  try:      curl -s -X POST ${publicUrl}/v1/invoices -H "Authorization: Bearer ${m.apiKey}" ` +
      `-H 'content-type: application/json' -d '{"amount":"15000.00","currency":"KZT"}'\n` +
      `  dashboard: ${publicUrl}/dashboard  (${m.dashboard.email} / ${m.dashboard.password})\n` +
      `  webhooks: ${publicUrl}/sandbox/webhooks  (the sandbox receiver: what the demo merchant received)\n`;
  }
  if (demo.regulator) {
    const r = demo.regulator;
    out +=
      `\nSandbox demo regulator created (shown once):\n` +
      `  console:  ${publicUrl}/regulator  (${r.email} / ${r.password})\n` +
      `  API key:  ${r.apiKey}  (GET ${publicUrl}/v1/regulator/cases)\n`;
  }
  return out ? `${out}\n` : '';
}
