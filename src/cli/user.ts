// `user create | list | disable`: people who sign in to the merchant dashboard. The password is read from stdin
// (`--password-stdin`, never a flag: it stays out of shell history and process lists); without it a
// random one is generated and printed once.
import { disableAccount } from '../auth/disable';
import {
  createDashboardUser,
  dashboardUserDisable,
  generatePassword,
  listDashboardUsers,
} from '../dashboard/users';
import { CliUsageError } from './args';
import { isoOrNone, table } from './output';
import { readAllStdin } from './regulator';
import type { CliCommand } from './types';
import { idFlag } from './validate';

export function createUserCommands(
  io: { readStdin: () => Promise<string> } = { readStdin: readAllStdin },
): readonly CliCommand[] {
  const create: CliCommand = {
    name: 'user create',
    summary: 'Create a merchant dashboard user (password from stdin, or a generated one shown once).',
    flags: {
      merchant: { kind: 'string', required: true, placeholder: 'mer_…', description: 'the merchant id' },
      email: { kind: 'string', required: true, placeholder: 'EMAIL', description: 'the sign-in email' },
      'password-stdin': {
        kind: 'boolean',
        description: 'read the password (12+ characters) from stdin instead of generating one',
      },
    },
    examples: [
      'user create --merchant mer_01jd8x3q4m5n6p7r8s9t0v1w2x --email owner@cafe.kz',
      'user create --merchant mer_01jd8x3q4m5n6p7r8s9t0v1w2x --email owner@cafe.kz --password-stdin < pw.txt',
    ],
    async run(ctx) {
      let password: string;
      const fromStdin = ctx.flags.bool('password-stdin');
      if (fromStdin) {
        password = (await io.readStdin()).replace(/\r?\n$/, '');
        if (!password) throw new CliUsageError('--password-stdin: stdin was empty', '--password-stdin');
      } else {
        password = generatePassword();
      }
      const config = ctx.config();
      const db = await ctx.db();
      const user = await createDashboardUser(db.sql, {
        merchantId: ctx.flags.required('merchant'),
        email: ctx.flags.required('email'),
        password,
        scryptLogN: config.DASHBOARD_SCRYPT_LOG_N,
      });
      const url = `${config.PUBLIC_URL}/dashboard`;
      ctx.print(
        `Dashboard user ${user.id} <${user.email}> created for ${user.merchantId}.\n` +
          (fromStdin ? '' : `Password (shown once; store it now):\n  ${password}\n`) +
          `Sign in at ${url}`,
        {
          id: user.id,
          merchantId: user.merchantId,
          email: user.email,
          ...(fromStdin ? {} : { password }),
          dashboardUrl: url,
        },
      );
      return 0;
    },
  };

  const list: CliCommand = {
    name: 'user list',
    summary: 'List dashboard users (never their passwords).',
    flags: {
      merchant: { kind: 'string', placeholder: 'mer_…', description: "only this merchant's users" },
    },
    async run(ctx) {
      const db = await ctx.db();
      const users = await listDashboardUsers(db.sql, ctx.flags.string('merchant'));
      const json = users.map((u) => ({
        id: u.id,
        merchantId: u.merchantId,
        email: u.email,
        createdAt: u.createdAt.toISOString(),
        lastSignInAt: u.lastSignInAt?.toISOString() ?? null,
        lockedUntil: u.lockedUntil?.toISOString() ?? null,
        disabledAt: u.disabledAt?.toISOString() ?? null,
      }));
      ctx.print(
        json.length
          ? table(
              ['id', 'merchant', 'email', 'created', 'last sign-in', 'status'],
              json.map((u) => [
                u.id,
                u.merchantId,
                u.email,
                isoOrNone(u.createdAt),
                isoOrNone(u.lastSignInAt),
                u.disabledAt ? `disabled ${u.disabledAt}` : 'active',
              ]),
            )
          : 'No dashboard users yet.',
        { users: json },
      );
      return 0;
    },
  };
  const disable: CliCommand = {
    name: 'user disable',
    summary: 'Disable a dashboard user: they cannot sign in, and their sessions end now.',
    flags: { id: { kind: 'string', required: true, placeholder: 'usr_…', description: 'the user id' } },
    examples: ['user disable --id usr_01jd8x3q4m5n6p7r8s9t0v1w2x'],
    async run(ctx) {
      const id = idFlag(ctx.flags, 'id', 'usr');
      const db = await ctx.db();
      const out = await disableAccount(db.sql, dashboardUserDisable, id);
      const user = out.account;
      const at = user.disabledAt!.toISOString();
      ctx.print(
        out.alreadyDisabled
          ? `${id} was already disabled (at ${at}).`
          : `Disabled ${id} <${user.email}>; ${out.sessionsEnded} session(s) ended.`,
        {
          id,
          merchantId: user.merchantId,
          email: user.email,
          disabledAt: at,
          sessionsEnded: out.sessionsEnded,
          alreadyDisabled: out.alreadyDisabled,
        },
      );
      return 0;
    },
  };
  return [create, list, disable];
}

export const userCommands: readonly CliCommand[] = createUserCommands();
