// `regulator create | list | disable | apikey revoke`: the people who work the compliance queue.
// Creation prints a regulator API key (rk_…) once; `--password-stdin` also sets a console password
// (read from stdin, never from a flag, so it stays out of shell history and process lists).
// Disabling ends the console sessions and stops the API keys; a revoked key gets 401 at once.
import { disableAccount } from '../auth/disable';
import { createRegulator, regulatorDisable, revokeRegulatorKey } from '../regulator/accounts';
import { CliUsageError } from './args';
import { isoOrNone, table } from './output';
import type { CliCommand } from './types';
import { idFlag } from './validate';

export async function readAllStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

export function createRegulatorCommands(
  io: { readStdin: () => Promise<string> } = { readStdin: readAllStdin },
): readonly CliCommand[] {
  const create: CliCommand = {
    name: 'regulator create',
    summary:
      'Create a regulator (compliance officer) with an API key (shown once) and optionally a password.',
    flags: {
      name: {
        kind: 'string',
        required: true,
        placeholder: 'TEXT',
        description: 'full name, given name first',
      },
      email: { kind: 'string', required: true, placeholder: 'EMAIL', description: 'the sign-in email' },
      'password-stdin': {
        kind: 'boolean',
        description: 'read a console password (12+ characters) from stdin',
      },
    },
    examples: [
      'regulator create --name "Aigerim Sadykova" --email a.sadykova@afm.kz --password-stdin < pw.txt',
    ],
    async run(ctx) {
      let password: string | undefined;
      if (ctx.flags.bool('password-stdin')) {
        password = (await io.readStdin()).replace(/\r?\n$/, '');
        if (!password) throw new CliUsageError('--password-stdin: stdin was empty', '--password-stdin');
      }
      const config = ctx.config();
      const db = await ctx.db();
      const { regulator, apiKey } = await createRegulator(db.sql, {
        name: ctx.flags.required('name'),
        email: ctx.flags.required('email'),
        password,
        scryptLogN: config.REGULATOR_SCRYPT_LOG_N,
      });
      ctx.print(
        `Regulator ${regulator.id} (${regulator.name} <${regulator.email}>) created.\n` +
          `API key (shown once; store it now):\n  ${apiKey.apiKey}\n` +
          (password ? `Console: ${config.PUBLIC_URL}/regulator (password set)` : 'No console password set.'),
        {
          id: regulator.id,
          name: regulator.name,
          email: regulator.email,
          apiKeyId: apiKey.id,
          apiKey: apiKey.apiKey,
          password: password !== undefined,
          consoleUrl: `${config.PUBLIC_URL}/regulator`,
        },
      );
      return 0;
    },
  };

  const list: CliCommand = {
    name: 'regulator list',
    summary: 'List regulators (never their keys or passwords).',
    flags: {},
    async run(ctx) {
      const db = await ctx.db();
      const rows = await db.sql<
        {
          id: string;
          name: string;
          email: string;
          created_at: Date;
          locked_until: Date | null;
          disabled_at: Date | null;
          pw: boolean;
        }[]
      >`select id, name, email, created_at, locked_until, disabled_at, password_hash is not null as pw
        from regulators order by created_at, id`;
      const json = rows.map((r) => ({
        id: r.id,
        name: r.name,
        email: r.email,
        password: r.pw,
        createdAt: new Date(r.created_at).toISOString(),
        lockedUntil: r.locked_until ? new Date(r.locked_until).toISOString() : null,
        disabledAt: r.disabled_at ? new Date(r.disabled_at).toISOString() : null,
      }));
      ctx.print(
        json.length
          ? table(
              ['id', 'name', 'email', 'password', 'created', 'status'],
              json.map((r) => [
                r.id,
                r.name,
                r.email,
                r.password ? 'yes' : 'no',
                isoOrNone(r.createdAt),
                r.disabledAt ? `disabled ${r.disabledAt}` : 'active',
              ]),
            )
          : 'No regulators yet.',
        { regulators: json },
      );
      return 0;
    },
  };
  const disable: CliCommand = {
    name: 'regulator disable',
    summary:
      'Disable a regulator: no console sign-in, their console sessions end now, their API keys get 401.',
    flags: { id: { kind: 'string', required: true, placeholder: 'reg_…', description: 'the regulator id' } },
    examples: ['regulator disable --id reg_01jd8x3q4m5n6p7r8s9t0v1w2x'],
    async run(ctx) {
      const id = idFlag(ctx.flags, 'id', 'reg');
      const db = await ctx.db();
      const out = await disableAccount(db.sql, regulatorDisable, id);
      const regulator = out.account;
      const at = regulator.disabledAt!.toISOString();
      ctx.print(
        out.alreadyDisabled
          ? `${id} was already disabled (at ${at}).`
          : `Disabled ${id} (${regulator.name}); ${out.sessionsEnded} console session(s) ended.`,
        {
          id,
          email: regulator.email,
          disabledAt: at,
          sessionsEnded: out.sessionsEnded,
          alreadyDisabled: out.alreadyDisabled,
        },
      );
      return 0;
    },
  };

  const revokeKey: CliCommand = {
    name: 'regulator apikey revoke',
    summary: 'Revoke a regulator API key (rk_…) at once; requests with it get 401 api_key_revoked.',
    flags: {
      id: { kind: 'string', required: true, placeholder: 'key_…', description: 'the API key id' },
    },
    examples: ['regulator apikey revoke --id key_01jd8x3q4m5n6p7r8s9t0v1w2x'],
    async run(ctx) {
      const id = idFlag(ctx.flags, 'id', 'key');
      const db = await ctx.db();
      const out = await revokeRegulatorKey(db.sql, id);
      const at = out.revokedAt.toISOString();
      ctx.print(
        out.alreadyRevoked ? `${id} was already revoked (at ${at}).` : `Revoked ${id} of ${out.regulatorId}.`,
        { id, regulatorId: out.regulatorId, revokedAt: at, alreadyRevoked: out.alreadyRevoked },
      );
      return 0;
    },
  };
  return [create, list, disable, revokeKey];
}

export const regulatorCommands: readonly CliCommand[] = createRegulatorCommands();
