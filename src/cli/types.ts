// The shape of a CLI command. A command lives in its own module under src/cli/ and is listed in
// src/cli/commands.ts; the runner (src/cli.ts) parses its flags, opens the database on demand and
// turns errors into exit codes.
import type { Database } from '../boot';
import type { Config } from '../config';
import type { FlagSpecs, Flags } from './args';

export interface Writer {
  write(chunk: string): unknown;
}

export interface CliIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdout: Writer;
  readonly stderr: Writer;
}

export interface CommandContext {
  readonly flags: Flags;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The validated configuration (a bad variable is a usage error, exit 2). */
  config(): Config;
  /** Opens the database once per run (migrating it unless `migrate: false`); the runner closes it. */
  db(opts?: { migrate?: boolean }): Promise<Database>;
  /** Writes `json` (with --json) or the human text to stdout. */
  print(human: string, json: unknown): void;
  /** A line for the person at the terminal, on stderr, never mixed into --json output. */
  note(line: string): void;
}

export interface CliCommand {
  /** Words that select it, e.g. `merchant create`. */
  readonly name: string;
  readonly summary: string;
  readonly flags: FlagSpecs;
  readonly examples?: readonly string[];
  /**
   * Maps the first segment of a domain ValidationError's field path to the flag that carries it
   * (`xpub` → `--xpub`), so every error names what the operator typed. Unlisted: `--<segment>`.
   */
  readonly fieldFlags?: Readonly<Record<string, string>>;
  /** Returns the exit code (0 when nothing is returned). */
  run(ctx: CommandContext): Promise<number | undefined>;
}
