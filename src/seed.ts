// Sandbox first start: a demo merchant whose keys are the published BIP84 test vector ("abandon … about"),
// a public watch-only key whose private half is famous: fine for a sandbox, never for real money.
import { createDashboardUser, generatePassword } from './dashboard/users';
import type { Sql } from './db/client';
import type { KeyMode } from './merchants/apikeys';
import { createMerchant } from './merchants/repository';

export const DEMO_EVM_PAYOUT = '0x23618e81E3f5cdF7f54C3d65f7FBc0aBf5B21E8f';

export const DEMO_VPUB =
  'vpub5Y6cjg78GGuNLsaPhmYsiw4gYX3HoQiRBiSwDaBXKUafCt9bNwWQiitDk5VZ5BVxYnQdwoTyXSs2JHRPAgjAvtbBrf8ZhDYe2jWAqvZVnsc';

export interface DemoSeed {
  readonly merchantId: string;
  readonly apiKey: string;
  /** The demo dashboard user (/dashboard), with a random password shown once. */
  readonly dashboard: { readonly email: string; readonly password: string };
}

export const DEMO_DASHBOARD_EMAIL = 'demo@alatau.test';

/** Creates the demo merchant once; returns undefined when it already exists. */
export async function seedDemo(
  sql: Sql,
  mode: KeyMode,
  opts: { scryptLogN?: number } = {},
): Promise<DemoSeed | undefined> {
  const [done] = await sql`select value from settings where key = 'demo_seeded'`;
  if (done) return undefined;
  const { merchant, apiKey } = await createMerchant(
    sql,
    {
      name: 'Alatau Demo Café',
      mode,
      xpubs: { 'bitcoin-regtest': DEMO_VPUB, 'litecoin-regtest': DEMO_VPUB },
      // Anvil's default account 8: a sandbox payout address whose key every anvil user knows.
      evmPayout: DEMO_EVM_PAYOUT,
    },
    'seed',
  );
  const password = generatePassword();
  await createDashboardUser(
    sql,
    { merchantId: merchant.id, email: DEMO_DASHBOARD_EMAIL, password, ...opts },
    'seed',
  );
  await sql`insert into settings (key, value) values ('demo_seeded', ${sql.json({ merchantId: merchant.id })})
    on conflict (key) do nothing`;
  return {
    merchantId: merchant.id,
    apiKey: apiKey.apiKey,
    dashboard: { email: DEMO_DASHBOARD_EMAIL, password },
  };
}
