// The operator CLI in-process (runCli) against a fresh database: what it prints, what it writes,
// and the exit codes (0 ok, 1 operational, 2 usage naming the flag).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HDKey } from '@scure/bip32';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MerchantJson } from '../../src/cli/merchant';
import { loadMigrations } from '../../src/db/migrate';
import { authenticateApiKey } from '../../src/merchants/apikeys';
import { refAddress } from '../chains/utxo/reference';
import { freshDatabase, type TestDatabase } from '../helpers/db';
import { BIP84_VPUB, cliRunner } from './helpers';

let db: TestDatabase;
let run: ReturnType<typeof cliRunner>;
const FIRST_REGTEST = refAddress('bitcoin-regtest', BIP84_VPUB, 'p2wpkh', 0);
const FIRST_LTC_REGTEST = refAddress('litecoin-regtest', BIP84_VPUB, 'p2wpkh', 0);
// Another valid vpub: a public child of the BIP84 account key.
const VPUB_VERSIONS = { public: 0x045f1cf6, private: 0x045f18bc };
const OTHER_VPUB = HDKey.fromExtendedKey(BIP84_VPUB, VPUB_VERSIONS).deriveChild(7).publicExtendedKey;

beforeAll(async () => {
  db = await freshDatabase();
  run = cliRunner({ DATABASE_URL: db.url, NETWORK_MODE: 'sandbox', LOG_LEVEL: 'silent' });
});
afterAll(async () => {
  await db?.close();
});

/** Hands out the next address index the way invoice creation does. */
const useIndex = (merchantId: string, network: string) =>
  db.sql`update derivation_indexes set next_index = next_index + 1
    where merchant_id = ${merchantId} and network = ${network}`;

const count = async (table: string) => {
  const [r] = await db.sql`select count(*)::int as n from ${db.sql(table)}`;
  return r!.n as number;
};

async function createMerchant(extra: string[] = []) {
  const r = await run([
    'merchant',
    'create',
    '--name',
    'Alatau Café',
    '--xpub',
    `bitcoin-regtest=${BIP84_VPUB}`,
    ...extra,
    '--json',
  ]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return r.json<{ merchant: MerchantJson; apiKey: string }>();
}

describe('merchant create', () => {
  it('prints { merchant, apiKey } with the first address of each key, and the key works', async () => {
    const auditBefore = await count('audit_log');
    const { merchant, apiKey } = await createMerchant(['--bin', '123456789012']);
    expect(merchant.id).toMatch(/^mer_[0-9a-z]{26}$/);
    expect(merchant).toMatchObject({
      name: 'Alatau Café',
      bin: '123456789012',
      mode: 'test',
      settings: {
        speedPolicy: 'medium',
        paymentTolerancePercent: '0',
        invoiceExpiryMinutes: 15,
        monitoringWindowMinutes: 1440,
        enabledOptions: ['BTC@bitcoin-regtest'],
        evmPayoutAddress: null,
      },
    });
    expect(merchant.keys).toEqual([
      { network: 'bitcoin-regtest', key: BIP84_VPUB, scriptType: 'p2wpkh', firstAddress: FIRST_REGTEST },
    ]);
    expect(apiKey).toMatch(/^sk_test_[1-9A-HJ-NP-Za-km-z]{40,50}$/);
    const principal = await authenticateApiKey(db.sql, apiKey, 'test');
    expect(principal.merchantId).toBe(merchant.id);
    const [stored] = await db.sql`select name, bin, mode from merchants where id = ${merchant.id}`;
    expect(stored).toEqual({ name: 'Alatau Café', bin: '123456789012', mode: 'test' });
    expect(await count('audit_log')).toBe(auditBefore + 1);
  });

  it('prints a readable summary with the key shown once by default', async () => {
    const r = await run(['merchant', 'create', '--name=Shop', `--xpub=bitcoin-regtest=${BIP84_VPUB}`]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Merchant created:');
    expect(r.stdout).toContain(FIRST_REGTEST);
    expect(r.stdout).toMatch(/shown once[^\n]*\n {2}sk_test_\w+/);
  });

  it('defaults the key mode from NETWORK_MODE and accepts --mode, --evm-payout and --options', async () => {
    const live = await run(['merchant', 'create', '--name', 'Mainnet shop', '--json'], {
      NETWORK_MODE: 'mainnet',
    });
    expect(live.code).toBe(0);
    expect(live.json<{ apiKey: string }>().apiKey).toMatch(/^sk_live_/);
    const r = await run([
      'merchant',
      'create',
      '--name',
      'EVM shop',
      '--mode',
      'live',
      '--evm-payout',
      '0x52908400098527886e0f7030069857d2e4169ee7',
      '--options',
      'ETH@anvil,USDC@anvil',
      '--json',
    ]);
    expect(r.code).toBe(0);
    // A live key on a sandbox gateway is allowed but the operator is told it will not work here.
    expect(r.stderr).toContain('sk_test_');
    const { merchant, apiKey } = r.json<{ merchant: MerchantJson; apiKey: string }>();
    expect(apiKey).toMatch(/^sk_live_/);
    expect(merchant.settings.evmPayoutAddress).toBe('0x52908400098527886E0F7030069857D2E4169EE7');
    expect(merchant.settings.enabledOptions).toEqual(['ETH@anvil', 'USDC@anvil']);
  });

  it.each([
    [['--name', 'A', '--bin', '123'], '--bin'],
    [['--name', 'A', '--bin', '12345678901a'], '--bin'],
    [['--name', 'A', '--xpub', 'bitcoin-regtest'], '--xpub'],
    [['--name', 'A', '--xpub', `ethereum=${BIP84_VPUB}`], '--xpub'],
    [
      ['--name', 'A', '--xpub', `bitcoin-regtest=${BIP84_VPUB}`, '--xpub', `bitcoin-regtest=${BIP84_VPUB}`],
      '--xpub',
    ],
    [['--name', 'A', '--mode', 'prod'], '--mode'],
    [['--name', 'A', '--evm-payout', '0x1234'], '--evm-payout'],
    [['--name', 'A', '--evm-payout', '0x52908400098527886E0F7030069857D2E4169Ee7'], '--evm-payout'],
    [['--name', 'A', '--options', 'DOGE@bitcoin'], '--options'],
    [['--name', 'A', '--nmae', 'B'], '--nmae'],
    [['--name'], '--name'],
    [['--name', 'A', '--json=yes'], '--json'],
    [['--name', 'A', 'extra'], 'extra'],
  ])('usage error %j → exit 2 naming %s, nothing written', async (args, flag) => {
    const before = await count('merchants');
    const r = await run(['merchant', 'create', ...(args as string[])]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(flag);
    expect(await count('merchants')).toBe(before);
  });

  it('a missing --name is a usage error even with other flags', async () => {
    const r = await run(['merchant', 'create', '--bin', '123456789012']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--name is required');
  });

  it('a bad xpub is a clear error naming the flag and network, in text and in JSON', async () => {
    const before = await count('merchants');
    const broken = `${BIP84_VPUB.slice(0, -1)}d`;
    const text = await run(['merchant', 'create', '--name', 'A', '--xpub', `bitcoin-regtest=${broken}`]);
    expect(text.code).toBe(2);
    expect(text.stderr).toMatch(/--xpub bitcoin-regtest: .*checksum/);
    const wrongNet = await run([
      'merchant',
      'create',
      '--name',
      'A',
      '--xpub',
      `bitcoin=${BIP84_VPUB}`,
      '--json',
    ]);
    expect(wrongNet.code).toBe(2);
    const err = JSON.parse(wrongNet.stderr) as { error: { code: string; errors: { flag: string }[] } };
    expect(err.error.code).toBe('invalid_account_key');
    expect(err.error.errors[0]!.flag).toBe('--xpub bitcoin');
    expect(await count('merchants')).toBe(before);
  });
});

describe('merchant show, set-key, settings', () => {
  it('show reports keys, first addresses and the highest used index per network', async () => {
    const { merchant } = await createMerchant();
    const fresh = await run(['merchant', 'show', '--id', merchant.id, '--json']);
    expect(fresh.code).toBe(0);
    expect(fresh.json()).toEqual({
      merchant,
      highestUsedIndexes: [{ network: 'bitcoin-regtest', highestIndex: null }],
    });
    await useIndex(merchant.id, 'bitcoin-regtest');
    await useIndex(merchant.id, 'bitcoin-regtest');
    const used = await run(['merchant', 'show', '--id', merchant.id, '--json']);
    expect(used.json<{ highestUsedIndexes: unknown }>().highestUsedIndexes).toEqual([
      { network: 'bitcoin-regtest', highestIndex: 1 },
    ]);
    const text = await run(['merchant', 'show', '--id', merchant.id]);
    expect(text.stdout).toMatch(new RegExp(`bitcoin-regtest\\s+p2wpkh\\s+${FIRST_REGTEST}\\s+1`));
  });

  it('show of an unknown merchant is exit 1; a malformed id is exit 2', async () => {
    const missing = await run(['merchant', 'show', '--id', 'mer_01m845kddfqy52yt93rxwn9s66']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('merchant mer_01m845kddfqy52yt93rxwn9s66 was not found');
    const bad = await run(['merchant', 'show', '--id', 'inv_01m845kddfqy52yt93rxwn9s66']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--id');
  });

  it('set-key adds a network with its first address; only a different key restarts the index sequence', async () => {
    const { merchant } = await createMerchant();
    await useIndex(merchant.id, 'bitcoin-regtest');
    const r = await run([
      'merchant',
      'set-key',
      '--id',
      merchant.id,
      '--network',
      'litecoin-regtest',
      '--key',
      BIP84_VPUB,
      '--json',
    ]);
    expect(r.code).toBe(0);
    expect(r.json()).toEqual({
      merchantId: merchant.id,
      key: {
        network: 'litecoin-regtest',
        key: BIP84_VPUB,
        scriptType: 'p2wpkh',
        firstAddress: FIRST_LTC_REGTEST,
      },
      indexesRestarted: true,
    });
    expect(FIRST_LTC_REGTEST).toMatch(/^rltc1q/);
    const indexes = async () =>
      (await run(['merchant', 'show', '--id', merchant.id, '--json'])).json<{ highestUsedIndexes: unknown }>()
        .highestUsedIndexes;
    // The same bitcoin key again: index 0 was handed out and stays used.
    const same = await run([
      'merchant',
      'set-key',
      '--id',
      merchant.id,
      '--network',
      'bitcoin-regtest',
      '--key',
      BIP84_VPUB,
    ]);
    expect(same.code).toBe(0);
    expect(same.stdout).toContain('indexes continue');
    expect(await indexes()).toEqual([
      { network: 'bitcoin-regtest', highestIndex: 0 },
      { network: 'litecoin-regtest', highestIndex: null },
    ]);
    // Another account key: its own sequence from 0, and its own first address.
    const other = await run([
      'merchant',
      'set-key',
      '--id',
      merchant.id,
      '--network',
      'bitcoin-regtest',
      '--key',
      OTHER_VPUB,
      '--json',
    ]);
    expect(other.code).toBe(0);
    expect(other.json()).toMatchObject({
      indexesRestarted: true,
      key: { firstAddress: refAddress('bitcoin-regtest', OTHER_VPUB, 'p2wpkh', 0) },
    });
    expect(await indexes()).toEqual([
      { network: 'bitcoin-regtest', highestIndex: null },
      { network: 'litecoin-regtest', highestIndex: null },
    ]);
  });

  it('set-key refuses an unknown network and a bad key, naming the flag', async () => {
    const { merchant } = await createMerchant();
    const net = await run([
      'merchant',
      'set-key',
      '--id',
      merchant.id,
      '--network',
      'dogecoin',
      '--key',
      BIP84_VPUB,
    ]);
    expect(net.code).toBe(2);
    expect(net.stderr).toContain('--network');
    const key = await run([
      'merchant',
      'set-key',
      '--id',
      merchant.id,
      '--network',
      'bitcoin-regtest',
      '--key',
      'xpubnope',
    ]);
    expect(key.code).toBe(2);
    expect(key.stderr).toMatch(/--key bitcoin-regtest: /);
  });

  it('settings changes only what is given and stores the tolerance in basis points', async () => {
    const { merchant } = await createMerchant();
    const r = await run([
      'merchant',
      'settings',
      '--id',
      merchant.id,
      '--speed-policy',
      'low-medium',
      '--tolerance-percent',
      '0.5',
      '--expiry-minutes',
      '30',
      '--evm-payout',
      '0x52908400098527886e0f7030069857d2e4169ee7',
      '--json',
    ]);
    expect(r.code).toBe(0);
    expect(r.json<{ merchant: MerchantJson }>().merchant.settings).toEqual({
      speedPolicy: 'low-medium',
      paymentTolerancePercent: '0.5',
      invoiceExpiryMinutes: 30,
      monitoringWindowMinutes: 1440,
      enabledOptions: ['BTC@bitcoin-regtest'],
      evmPayoutAddress: '0x52908400098527886E0F7030069857D2E4169EE7',
    });
    const [row] =
      await db.sql`select payment_tolerance_bp, speed_policy from merchants where id = ${merchant.id}`;
    expect(row).toEqual({ payment_tolerance_bp: 50, speed_policy: 'low-medium' });
    const cleared = await run([
      'merchant',
      'settings',
      '--id',
      merchant.id,
      '--evm-payout',
      'none',
      '--options',
      'BTC@bitcoin-regtest,LTC@litecoin-regtest',
      '--json',
    ]);
    expect(cleared.code).toBe(0);
    const s = cleared.json<{ merchant: MerchantJson }>().merchant.settings;
    expect(s.evmPayoutAddress).toBeNull();
    expect(s.enabledOptions).toEqual(['BTC@bitcoin-regtest', 'LTC@litecoin-regtest']);
    expect(s.paymentTolerancePercent).toBe('0.5');
  });

  it.each([
    [['--tolerance-percent', '0.555'], '--tolerance-percent'],
    [['--tolerance-percent', '101'], '--tolerance-percent'],
    [['--tolerance-percent', '-1'], '--tolerance-percent'],
    [['--expiry-minutes', '0'], '--expiry-minutes'],
    [['--monitoring-minutes', '1.5'], '--monitoring-minutes'],
    [['--speed-policy', 'fast'], '--speed-policy'],
    [[], '--speed-policy'],
  ])('settings %j → exit 2 naming %s, nothing changed', async (args, flag) => {
    const { merchant } = await createMerchant();
    const r = await run(['merchant', 'settings', '--id', merchant.id, ...(args as string[])]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(flag);
    const [row] =
      await db.sql`select updated_at = created_at as untouched from merchants where id = ${merchant.id}`;
    expect(row!.untouched).toBe(true);
  });
});

describe('apikey', () => {
  it('create prints a working key once; list never shows keys; revoke stops it', async () => {
    const { merchant, apiKey: first } = await createMerchant();
    const created = await run(['apikey', 'create', '--merchant', merchant.id, '--label', 'till 2', '--json']);
    expect(created.code).toBe(0);
    const key = created.json<{ id: string; apiKey: string; mode: string; label: string }>();
    expect(key).toMatchObject({ merchantId: merchant.id, mode: 'test', label: 'till 2' });
    expect((await authenticateApiKey(db.sql, key.apiKey, 'test')).keyId).toBe(key.id);

    const listed = await run(['apikey', 'list', '--merchant', merchant.id, '--json']);
    expect(listed.code).toBe(0);
    expect(listed.stdout).not.toContain(key.apiKey);
    expect(listed.stdout).not.toContain(first);
    const keys = listed.json<{
      keys: { id: string; label: string | null; revokedAt: string | null; lastUsedAt: string | null }[];
    }>().keys;
    expect(keys.map((k) => k.label)).toEqual(['default', 'till 2']);
    expect(keys.every((k) => k.revokedAt === null)).toBe(true);
    expect(keys[1]!.lastUsedAt).not.toBeNull();

    const auditBefore = await count('audit_log');
    const revoked = await run(['apikey', 'revoke', '--id', key.id, '--json']);
    expect(revoked.code).toBe(0);
    expect(revoked.json()).toMatchObject({ id: key.id, merchantId: merchant.id, alreadyRevoked: false });
    await expect(authenticateApiKey(db.sql, key.apiKey, 'test')).rejects.toMatchObject({
      code: 'api_key_revoked',
    });
    expect(await count('audit_log')).toBe(auditBefore + 1);
    const twice = await run(['apikey', 'revoke', '--id', key.id]);
    expect(twice.code).toBe(0);
    expect(twice.stdout).toContain('already revoked');
    expect(await count('audit_log')).toBe(auditBefore + 1);

    const text = await run(['apikey', 'list', '--merchant', merchant.id]);
    expect(text.stdout).toMatch(new RegExp(`${key.id}\\s+sk_test_\\w+…\\s+till 2\\s+.*revoked`));
  });

  it('a key for an unknown merchant or an unknown key id is exit 1; a malformed id is exit 2', async () => {
    const unknownMerchant = await run(['apikey', 'create', '--merchant', 'mer_01m845kddfqy52yt93rxwn9s66']);
    expect(unknownMerchant.code).toBe(1);
    const unknownKey = await run(['apikey', 'revoke', '--id', 'key_01m845kddfqy52yt93rxwn9s66', '--json']);
    expect(unknownKey.code).toBe(1);
    expect(JSON.parse(unknownKey.stderr).error.code).toBe('api_key_not_found');
    const malformed = await run(['apikey', 'revoke', '--id', 'sk_test_abc']);
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toContain('--id');
    const missing = await run(['apikey', 'list']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--merchant');
  });
});

describe('migrate, help, configuration and database errors', () => {
  it('migrate applies nothing on a migrated database and reports the schema version', async () => {
    const r = await run(['migrate', '--json']);
    expect(r.code).toBe(0);
    const latest = Math.max(...loadMigrations().map((m) => m.id));
    expect(r.json()).toEqual({ applied: [], current: latest });
  });

  it('--help lists commands (exit 0); each command has its own help; unknown commands are exit 2', async () => {
    const all = await run(['--help']);
    expect(all.code).toBe(0);
    for (const c of ['migrate', 'merchant create', 'apikey revoke', 'audit verify'])
      expect(all.stdout).toContain(c);
    const one = await run(['merchant', 'create', '--help']);
    expect(one.code).toBe(0);
    expect(one.stdout).toContain('--xpub NETWORK=KEY');
    expect(one.stdout).toContain('repeatable');
    const none = await run([]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('Commands:');
    const unknown = await run(['merchant', 'frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('merchant commands: create, show, set-key, settings');
  });

  it('a bad environment variable is exit 2 naming it', async () => {
    const r = await run(['audit', 'verify'], { NETWORK_MODE: 'moon' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('NETWORK_MODE');
  });

  it('an unreachable DATABASE_URL is exit 1 naming host and port, never the password', async () => {
    const r = await run(['audit', 'verify'], { DATABASE_URL: 'postgres://ops:hunter2@127.0.0.1:1/gw' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('cannot use PostgreSQL at 127.0.0.1:1/gw');
    expect(r.stderr).not.toContain('hunter2');
  });

  it('a DATABASE_URL naming a Unix socket that is not there is exit 1 naming its directory', async () => {
    const r = await run(['audit', 'verify'], {
      DATABASE_URL: 'postgres://ops:hunter2@localhost:5433/gw?host=%2Fnonexistent%2Frun',
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('cannot use PostgreSQL at /nonexistent/run:5433/gw');
    expect(r.stderr).not.toContain('hunter2');
  });

  it('an embedded data directory held by another live process is exit 1 with what to do', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'alatau-cli-busy-'));
    try {
      // Any live process will do; the parent of this worker outlives the test.
      writeFileSync(join(dir, 'embedded.pid'), String(process.ppid));
      const r = await run(['merchant', 'show', '--id', 'mer_01m845kddfqy52yt93rxwn9s66'], {
        DATABASE_URL: undefined,
        DATA_DIR: dir,
      });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`open in another process (pid ${process.ppid}`);
      expect(r.stderr).toContain('DATABASE_URL=');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('as a subprocess', () => {
  const exec = (args: string[], cwd: string) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      // Async: in embedded mode the database is served by this very process.
      const child = spawn(args[0]!, args.slice(1), {
        cwd,
        env: { ...process.env, DATABASE_URL: db.url, NETWORK_MODE: 'sandbox', LOG_LEVEL: 'silent' },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
  const root = join(import.meta.dirname, '..', '..');

  it('npx tsx src/cli.ts merchant create --json prints parseable JSON; the bin works from a subdirectory', async () => {
    const created = await exec(
      [
        'npx',
        'tsx',
        'src/cli.ts',
        'merchant',
        'create',
        '--name',
        'Subprocess',
        '--xpub',
        `bitcoin-regtest=${BIP84_VPUB}`,
        '--json',
      ],
      root,
    );
    expect(created.code).toBe(0);
    const { merchant, apiKey } = JSON.parse(created.stdout) as { merchant: MerchantJson; apiKey: string };
    expect(merchant.keys[0]!.firstAddress).toBe(FIRST_REGTEST);
    expect((await authenticateApiKey(db.sql, apiKey, 'test')).merchantId).toBe(merchant.id);

    const shown = await exec(
      ['node', join(root, 'bin', 'alatau-pay.mjs'), 'merchant', 'show', '--id', merchant.id, '--json'],
      join(root, 'test'),
    );
    expect(shown.code).toBe(0);
    expect(JSON.parse(shown.stdout).merchant.id).toBe(merchant.id);

    const usage = await exec(
      ['node', join(root, 'bin', 'alatau-pay.mjs'), 'merchant', 'create', '--bin', '1'],
      root,
    );
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('--name');
  }, 60_000);
});
