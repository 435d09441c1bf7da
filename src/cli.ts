// The operator CLI (`npm run cli -- <command>`, `npx alatau-pay <command>`). Exit codes: 0 ok,
// 1 operational error (not found, database unreachable, audit chain broken), 2 usage error.
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Database, openDatabase } from './boot';
import { CliUsageError, COMMON_FLAGS, type FlagSpecs, Flags, parseFlags } from './cli/args';
import { commands as defaultCommands } from './cli/commands';
import { toJson } from './cli/output';
import type { CliCommand, CliIo, CommandContext } from './cli/types';
import { type Config, ConfigError, loadConfig } from './config';
import { EmbeddedDatabaseBusyError } from './db/embedded';
import { AppError, ValidationError } from './lib/errors';

export type { CliCommand, CliIo } from './cli/types';

const PROGRAM = 'alatau-pay';

export interface RunCliOptions extends Partial<CliIo> {
  /** Replaces the registry (tests). */
  readonly commands?: ReadonlyMap<string, CliCommand>;
}

/** A database failure an operator can act on: the message says what to do. */
export class CliDatabaseError extends AppError {
  override readonly name = 'CliDatabaseError';
  constructor(message: string, cause: unknown) {
    super('database_unavailable', message, { status: 503, cause });
  }
}

export async function runCli(argv: readonly string[], options: RunCliOptions = {}): Promise<number> {
  const io: CliIo = {
    env: options.env ?? process.env,
    stdout: options.stdout ?? process.stdout,
    stderr: options.stderr ?? process.stderr,
  };
  const registry = options.commands ?? defaultCommands;
  const words: string[] = [];
  for (const a of argv) {
    if (a.startsWith('-')) break;
    words.push(a);
  }
  const wantsJson = argv.includes('--json');
  const wantsHelp = argv.includes('--help') || argv.includes('-h');

  if (words.length === 0 || (words.length === 1 && words[0] === 'help')) {
    const text = generalHelp(registry);
    if (wantsHelp || words[0] === 'help') {
      io.stdout.write(`${text}\n`);
      return 0;
    }
    io.stderr.write(`${text}\n`);
    return 2;
  }
  let command: CliCommand | undefined;
  let used = 0;
  for (let n = words.length; n > 0 && !command; n--) {
    command = registry.get(words.slice(0, n).join(' '));
    if (command) used = n;
  }
  if (!command || used < words.length) {
    const typed = words.join(' ');
    const group = [...registry.values()].filter((c) => c.name.startsWith(`${words[0]} `));
    if (!command && group.length && words.length === 1 && wantsHelp) {
      io.stdout.write(`${groupHelp(words[0]!, group)}\n`);
      return 0;
    }
    const hint = command
      ? `unexpected argument "${words[used]}" after "${command.name}"; flags are written --name value`
      : group.length
        ? `unknown command "${typed}"; ${words[0]} commands: ${group.map((c) => c.name.split(' ').slice(1).join(' ')).join(', ')}`
        : `unknown command "${typed}"; run \`${PROGRAM} --help\` for the list`;
    return fail(io, wantsJson, new CliUsageError(hint), command);
  }

  let db: Database | undefined;
  let config: Config | undefined;
  try {
    const flags = new Flags(parseFlags(argv.slice(used), command.flags));
    if (flags.bool('help')) {
      io.stdout.write(`${commandHelp(command)}\n`);
      return 0;
    }
    const getConfig = () => {
      config ??= loadConfig(io.env);
      return config;
    };
    const ctx: CommandContext = {
      flags,
      env: io.env,
      config: getConfig,
      async db(opts) {
        if (db) return db;
        db = await openCliDatabase(getConfig(), opts);
        return db;
      },
      print(human, json) {
        io.stdout.write(flags.json ? `${toJson(json)}\n` : `${human}\n`);
      },
      note(line) {
        io.stderr.write(`${line}\n`);
      },
    };
    return (await command.run(ctx)) ?? 0;
  } catch (err) {
    return fail(io, wantsJson, err, command);
  } finally {
    await db?.close().catch(() => {});
  }
}

/**
 * Opens the database with a small pool (the CLI runs one statement at a time). With the embedded
 * database open in a running gateway, the CLI goes through that gateway's database socket.
 */
async function openCliDatabase(config: Config, opts: { migrate?: boolean } = {}): Promise<Database> {
  const small = {
    ...config,
    DATABASE_POOL_MAX: config.DATABASE_URL ? Math.min(config.DATABASE_POOL_MAX, 2) : 1,
  };
  try {
    return await openDatabase(small, { ...opts, share: true });
  } catch (err) {
    throw describeDatabaseError(err, config);
  }
}

function describeDatabaseError(err: unknown, config: Config): unknown {
  if (err instanceof EmbeddedDatabaseBusyError) {
    return new CliDatabaseError(
      `the embedded database in ${config.DATA_DIR} is open in another process (pid ${err.pid}, ` +
        'probably `npm start`), which does not serve it yet (still starting?).\n' +
        '  Run the command again once it is ready, or run the gateway and the CLI against one ' +
        'PostgreSQL server: DATABASE_URL=postgres://user@host:5432/db',
      err,
    );
  }
  const code = (err as { code?: unknown } | null)?.code;
  // ENOENT, EACCES: a Unix-domain socket (`?host=/dir`) that is not there, or not ours.
  const connectCodes = [
    'ECONNREFUSED',
    'ENOTFOUND',
    'EHOSTUNREACH',
    'ETIMEDOUT',
    'CONNECT_TIMEOUT',
    'ENOENT',
    'EACCES',
  ];
  const authCodes = ['28P01', '28000', '3D000'];
  if (config.DATABASE_URL && typeof code === 'string' && [...connectCodes, ...authCodes].includes(code)) {
    // Host, port and database only: the URL may carry a password.
    let where = 'DATABASE_URL';
    try {
      const u = new URL(config.DATABASE_URL);
      const host = u.searchParams.get('host')?.startsWith('/') ? u.searchParams.get('host') : u.hostname;
      where = `${host}:${u.port || '5432'}${u.pathname} (DATABASE_URL)`;
    } catch {}
    const why = err instanceof Error ? err.message : String(err);
    return new CliDatabaseError(`cannot use PostgreSQL at ${where}: ${why}`, err);
  }
  return err;
}

/** Prints the error (as JSON on stderr with --json) and returns its exit code. */
function fail(io: CliIo, json: boolean, err: unknown, command: CliCommand | undefined): number {
  let code = 'error';
  let message = err instanceof Error ? err.message : String(err);
  let details: { flag: string; message: string }[] = [];
  let exit = 1;
  if (err instanceof CliUsageError) {
    code = err.code;
    exit = 2;
    if (err.flag) details = [{ flag: err.flag, message }];
  } else if (err instanceof ConfigError) {
    code = err.code;
    exit = 2;
  } else if (err instanceof ValidationError) {
    code = err.code;
    exit = 2;
    details = (err.errors ?? []).map((e) => ({ flag: flagForPath(e.path, command), message: e.message }));
  } else if (err instanceof AppError) {
    code = err.code;
  } else if (!(err instanceof Error)) {
    message = String(err);
  }
  if (json) {
    io.stderr.write(
      `${toJson({ error: { code, message, ...(details.length ? { errors: details } : {}) } })}\n`,
    );
  } else {
    const lines: string[] = [];
    // One bad field whose message is the error's: say it once, with the flag in front.
    const domain = err instanceof ValidationError;
    if (domain && details.length === 1 && details[0]!.message === message) {
      lines.push(`error: ${details[0]!.flag}: ${message}`);
    } else {
      lines.push(`error: ${message}`);
      if (domain) for (const d of details) lines.push(`  ${d.flag}: ${d.message}`);
    }
    if (exit === 2 && command) lines.push(`run \`${PROGRAM} ${command.name} --help\` for its flags`);
    if (exit === 1 && !(err instanceof AppError) && err instanceof Error && err.stack && io.env.DEBUG) {
      lines.push(err.stack);
    }
    io.stderr.write(`${lines.join('\n')}\n`);
  }
  return exit;
}

/** `xpub.bitcoin-regtest` → `--xpub bitcoin-regtest`; `enabledOptions` → the command's mapped flag. */
function flagForPath(path: string, command: CliCommand | undefined): string {
  const [head = path, ...rest] = path.split('.');
  const flag = command?.fieldFlags?.[head] ?? `--${head.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
  return rest.length ? `${flag} ${rest.join('.')}` : flag;
}

function flagLines(specs: FlagSpecs): string[] {
  const entries = Object.entries({ ...specs, ...COMMON_FLAGS });
  const left = entries.map(([name, s]) => `--${name}${s.placeholder ? ` ${s.placeholder}` : ''}`);
  const width = Math.max(...left.map((l) => l.length));
  return entries.map(([, s], i) => {
    const notes = [s.required ? 'required' : '', s.kind === 'list' ? 'repeatable' : ''].filter(Boolean);
    return `  ${left[i]!.padEnd(width)}  ${s.description}${notes.length ? ` (${notes.join(', ')})` : ''}`;
  });
}

export function commandHelp(c: CliCommand): string {
  const usage = Object.entries(c.flags)
    .map(([name, s]) => {
      const f = `--${name}${s.placeholder ? ` ${s.placeholder}` : ''}`;
      return s.required ? f : `[${f}${s.kind === 'list' ? ' …' : ''}]`;
    })
    .join(' ');
  const lines = [
    `Usage: ${PROGRAM} ${c.name}${usage ? ` ${usage}` : ''} [--json]`,
    '',
    c.summary,
    '',
    'Flags:',
  ];
  lines.push(...flagLines(c.flags));
  if (c.examples?.length) lines.push('', 'Examples:', ...c.examples.map((e) => `  ${PROGRAM} ${e}`));
  return lines.join('\n');
}

function groupHelp(group: string, list: readonly CliCommand[]): string {
  const width = Math.max(...list.map((c) => c.name.length));
  return [
    `Usage: ${PROGRAM} ${group} <command> [flags]`,
    '',
    ...list.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    `Run \`${PROGRAM} ${group} <command> --help\` for a command's flags.`,
  ].join('\n');
}

export function generalHelp(registry: ReadonlyMap<string, CliCommand>): string {
  const list = [...registry.values()];
  const width = Math.max(...list.map((c) => c.name.length));
  return [
    `Usage: ${PROGRAM} <command> [flags]   (or: npm run cli -- <command> [flags])`,
    '',
    'Commands:',
    ...list.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Every command takes --json for machine-readable output and --help for its flags.',
    'The database is DATABASE_URL, or the embedded one under DATA_DIR (default .data) when unset.',
    'Exit codes: 0 ok, 1 operational error, 2 usage error.',
  ].join('\n');
}

const isMain = (() => {
  try {
    return (
      !!process.argv[1] && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url))
    );
  } catch {
    return false;
  }
})();

if (isMain) {
  const code = await runCli(process.argv.slice(2));
  process.exitCode = code;
  // Should a library leave a handle open, do not hang the operator's shell.
  setTimeout(() => process.exit(code), 3000).unref();
}
