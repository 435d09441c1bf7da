// `regulator create` and `lists import` through the CLI runner on a fresh database, including the
// real 121 MB OFAC SDN_ADVANCED.XML (bz2) with its progress bar.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadIndex } from '../../src/aml/lists/store';
import { createPasswordHasher } from '../../src/auth/passwords';
import { signInWithPassword } from '../../src/auth/signin';
import { runCli } from '../../src/cli';
import { buildRegistry } from '../../src/cli/commands';
import { listCommands } from '../../src/cli/lists';
import { createRegulatorCommands } from '../../src/cli/regulator';
import { authenticateRegulatorKey, regulatorAccounts } from '../../src/regulator/accounts';
import { SDN_BZ2, TORNADO_ROUTER } from '../aml/lists/data';
import { freshDatabase, type TestDatabase } from '../helpers/db';

let db: TestDatabase;
let dir: string;
let stdin = '';
const registry = () =>
  buildRegistry([...createRegulatorCommands({ readStdin: async () => stdin }), ...listCommands]);

beforeAll(async () => {
  db = await freshDatabase();
  dir = mkdtempSync(join(tmpdir(), 'alatau-lists-'));
});
afterAll(async () => {
  await db?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function run(argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    env: { DATABASE_URL: db.url, NETWORK_MODE: 'sandbox', LOG_LEVEL: 'silent', REGULATOR_SCRYPT_LOG_N: '10' },
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    commands: registry(),
  });
  return { code, stdout, stderr, json: <T>() => JSON.parse(stdout) as T };
}

describe('regulator create', () => {
  it('prints the regulator and a working rk_ key once; --password-stdin enables console sign-in', async () => {
    stdin = 'correct horse battery staple\n';
    const r = await run([
      'regulator',
      'create',
      '--name',
      'Aigerim Sadykova',
      '--email',
      'a.sadykova@afm.test',
      '--password-stdin',
      '--json',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = r.json<{ id: string; apiKey: string; password: boolean; email: string }>();
    expect(out).toMatchObject({ email: 'a.sadykova@afm.test', password: true });
    expect(out.id).toMatch(/^reg_[0-9a-z]{26}$/);
    expect(out.apiKey).toMatch(/^rk_[1-9A-HJ-NP-Za-km-z]{40,50}$/);
    expect(await authenticateRegulatorKey(db.sql, out.apiKey)).toMatchObject({ regulatorId: out.id });
    const signed = await signInWithPassword(db.sql, regulatorAccounts, {
      email: 'A.Sadykova@afm.test',
      password: 'correct horse battery staple',
      lockout: { attempts: 5, minutes: 15 },
      hasher: createPasswordHasher({ concurrency: 2, queue: 8 }),
      scryptLogN: 10,
    });
    expect(signed.ok).toBe(true);
    const [audit] = await db.sql`select action from audit_log where subject = ${out.id} order by id limit 1`;
    expect(audit!.action).toBe('regulator.created');
  });

  it('refuses a duplicate email, a short password and a bad email, naming the flag', async () => {
    stdin = 'short\n';
    const weak = await run([
      'regulator',
      'create',
      '--name',
      'X',
      '--email',
      'x@afm.test',
      '--password-stdin',
    ]);
    expect(weak.code).toBe(2);
    expect(weak.stderr).toMatch(/--password.*12/);
    const dup = await run(['regulator', 'create', '--name', 'Other', '--email', 'A.SADYKOVA@afm.test']);
    expect(dup.code).toBe(1);
    expect(dup.stderr).toMatch(/already exists/);
    const bad = await run(['regulator', 'create', '--name', 'Y', '--email', 'not-an-email']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--email/);
  });
});

describe('lists import', () => {
  it('imports the real SDN_ADVANCED.XML.bz2 with a progress bar on stderr', async () => {
    const r = await run(['lists', 'import', '--source', 'ofac-sdn', '--file', SDN_BZ2, '--json']);
    expect(r.code).toBe(0);
    const bars = r.stderr.trim().split('\n');
    expect(bars.length).toBeGreaterThanOrEqual(3);
    for (const line of bars)
      expect(line).toMatch(/^\[[#-]{30}\]\s+\d{1,3}% [\d.]+\/[\d.]+ MB, \d+ addresses$/);
    expect(bars[bars.length - 1]).toMatch(/^\[#{30}\] 100% /);
    const out = r.json<{
      listId: string;
      version: number;
      entryCount: number;
      label: string;
      added: number;
    }>();
    expect(out).toMatchObject({ listId: 'ofac-sdn', version: 1, label: 'SDN 2025-11-19' });
    expect(out.entryCount).toBeGreaterThan(700);
    expect(out.added).toBe(out.entryCount);
    const index = await loadIndex(db.sql);
    expect(index.has('12QtD5BFwRsdNsAZY76UVE1xyCGNTojH9h')).toBe(true);
    expect(index.has(TORNADO_ROUTER)).toBe(false);

    const again = await run(['lists', 'import', '--source', 'ofac-sdn', '--file', SDN_BZ2, '--json']);
    expect(again.json()).toMatchObject({ version: 2, added: 0, removed: 0, entryCount: out.entryCount });
  }, 300_000);

  it('imports a plain per-asset list and the operator CSV, and re-imports record the difference', async () => {
    const txt = join(dir, 'xbt.txt');
    writeFileSync(txt, '1BoatSLRHtKNngkdXEeobR76b53LETtpyT\nbc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4\n');
    const p = await run(['lists', 'import', '--source', 'plain', '--asset', 'XBT', '--file', txt, '--json']);
    expect(p.code).toBe(0);
    expect(p.json()).toMatchObject({ listId: 'ofac-btc', entryCount: 2, version: 1 });

    const csv = join(dir, 'ours.csv');
    writeFileSync(csv, 'address,asset,name,reason\n0x70997970C51812dc3A010C7d01b50e0d17dc79C8,,Payer,test\n');
    expect((await run(['lists', 'import', '--source', 'csv', '--file', csv, '--json'])).json()).toMatchObject(
      {
        listId: 'operator',
        version: 1,
        added: 1,
      },
    );
    writeFileSync(csv, 'address,asset\n0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC,ETH\n');
    expect((await run(['lists', 'import', '--source', 'csv', '--file', csv, '--json'])).json()).toMatchObject(
      {
        version: 2,
        added: 1,
        removed: 1,
      },
    );

    const listed = await run(['lists', 'list']);
    expect(listed.stdout).toMatch(/operator\s+csv\s+2\s+ours\.csv\s+1/);

    writeFileSync(csv, 'address,asset\nnot an address,BTC\n');
    const bad = await run(['lists', 'import', '--source', 'csv', '--file', csv]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/line 2/);
    const noAsset = await run(['lists', 'import', '--source', 'plain', '--file', txt]);
    expect(noAsset.code).toBe(2);
    expect(noAsset.stderr).toMatch(/--asset/);
  });
});
