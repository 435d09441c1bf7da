// `user create` and `user list` through the CLI runner: a password from stdin or a generated one shown
// once, errors that name the flag, and a user who can then sign in.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPasswordHasher } from '../../../src/auth/passwords';
import { signInWithPassword } from '../../../src/auth/signin';
import { runCli } from '../../../src/cli';
import { buildRegistry } from '../../../src/cli/commands';
import { createUserCommands } from '../../../src/cli/user';
import { dashboardAccounts } from '../../../src/dashboard/users';
import { createTestContext, createTestMerchant, type TestContext } from '../../helpers/services';

let ctx: TestContext;
let merchantId: string;
let stdin = '';

beforeAll(async () => {
  ctx = await createTestContext();
  merchantId = (await createTestMerchant(ctx)).merchant.id;
});
afterAll(() => ctx.close());

async function run(argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    env: {
      DATABASE_URL: ctx.db.url,
      NETWORK_MODE: 'sandbox',
      LOG_LEVEL: 'silent',
      DASHBOARD_SCRYPT_LOG_N: '10',
    },
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    commands: buildRegistry(createUserCommands({ readStdin: async () => stdin })),
  });
  return { code, stdout, stderr };
}

const signIn = (email: string, password: string) =>
  signInWithPassword(ctx.db.sql, dashboardAccounts, {
    email,
    password,
    lockout: { attempts: 5, minutes: 15 },
    hasher: createPasswordHasher({ concurrency: 2, queue: 8 }),
    scryptLogN: 10,
  });

describe('user create', () => {
  it('reads the password from stdin and never prints it', async () => {
    stdin = 'correct horse battery staple\n';
    const r = await run([
      'user',
      'create',
      '--merchant',
      merchantId,
      '--email',
      'owner@kofe.kz',
      '--password-stdin',
      '--json',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({
      merchantId,
      email: 'owner@kofe.kz',
      dashboardUrl: expect.stringMatching(/\/dashboard$/),
    });
    expect(out.id).toMatch(/^usr_[0-9a-z]{26}$/);
    expect(r.stdout).not.toContain('correct horse');
    expect((await signIn('owner@kofe.kz', 'correct horse battery staple')).ok).toBe(true);
  });

  it('generates a password when none is given and shows it once', async () => {
    const r = await run(['user', 'create', '--merchant', merchantId, '--email', 'clerk@kofe.kz']);
    expect(r.code).toBe(0);
    const password = /Password \(shown once; store it now\):\n {2}(\S+)/.exec(r.stdout)![1]!;
    expect(password).toMatch(/^[1-9A-HJ-NP-Za-km-z]{20}$/);
    expect((await signIn('clerk@kofe.kz', password)).ok).toBe(true);
  });

  it('names the bad flag, and refuses an email already taken', async () => {
    stdin = 'short\n';
    const weak = await run([
      'user',
      'create',
      '--merchant',
      merchantId,
      '--email',
      'x@kofe.kz',
      '--password-stdin',
    ]);
    expect(weak.code).toBe(2);
    expect(weak.stderr).toMatch(/--password/);
    const bad = await run(['user', 'create', '--merchant', 'shop', '--email', 'nope']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--merchant');
    expect(bad.stderr).toContain('--email');
    const taken = await run([
      'user',
      'create',
      '--merchant',
      merchantId,
      '--email',
      'OWNER@kofe.kz',
      '--json',
    ]);
    expect(taken.code).toBe(1);
    expect(JSON.parse(taken.stderr).error.code).toBe('user_exists');
  });
});

describe('user list', () => {
  it('lists users without their passwords', async () => {
    const r = await run(['user', 'list', '--merchant', merchantId, '--json']);
    expect(r.code).toBe(0);
    const { users } = JSON.parse(r.stdout) as { users: { email: string }[] };
    expect(users.map((u) => u.email).sort()).toEqual(['clerk@kofe.kz', 'owner@kofe.kz']);
    expect(r.stdout).not.toMatch(/scrypt|password/i);
  });
});
