// `regulator create | list`: the people who work the compliance queue. Creation prints a regulator
// API key (rk_…) once; `--password-stdin` also sets a console password (read from stdin, never
// from a flag, so it stays out of shell history and process lists).
import { createRegulator } from '../regulator/accounts';
import { CliUsageError } from './args';
import { isoOrNone, table } from './output';
import type { CliCommand } from './types';

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
          pw: boolean;
        }[]
      >`select id, name, email, created_at, locked_until, password_hash is not null as pw from regulators
        order by created_at, id`;
      const json = rows.map((r) => ({
        id: r.id,
        name: r.name,
        email: r.email,
        password: r.pw,
        createdAt: new Date(r.created_at).toISOString(),
        lockedUntil: r.locked_until ? new Date(r.locked_until).toISOString() : null,
      }));
      ctx.print(
        json.length
          ? table(
              ['id', 'name', 'email', 'password', 'created'],
              json.map((r) => [r.id, r.name, r.email, r.password ? 'yes' : 'no', isoOrNone(r.createdAt)]),
            )
          : 'No regulators yet.',
        { regulators: json },
      );
      return 0;
    },
  };
  return [create, list];
}

export const regulatorCommands: readonly CliCommand[] = createRegulatorCommands();
