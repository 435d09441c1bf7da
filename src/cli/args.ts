// A small flag parser for the operator CLI (no dependency): `--name value`, `--name=value`,
// repeatable flags, booleans. Every mistake is a CliUsageError that names the flag.
import { AppError } from '../lib/errors';

export type FlagKind = 'string' | 'boolean' | 'list';

export interface FlagSpec {
  readonly kind: FlagKind;
  readonly description: string;
  /** Shown in help: `--merchant mer_…`. */
  readonly placeholder?: string;
  readonly required?: boolean;
}

export type FlagSpecs = Readonly<Record<string, FlagSpec>>;

export interface ParsedFlags {
  readonly strings: ReadonlyMap<string, string>;
  readonly lists: ReadonlyMap<string, readonly string[]>;
  readonly booleans: ReadonlySet<string>;
}

/** Bad command line: exit code 2, the message names the flag. */
export class CliUsageError extends AppError {
  override readonly name = 'CliUsageError';
  constructor(
    message: string,
    readonly flag?: string,
  ) {
    super('cli_usage', message, { status: 400 });
  }
}

const FLAG_NAME = /^[a-z][a-z0-9-]*$/;

/** Global flags every command accepts. */
export const COMMON_FLAGS: FlagSpecs = {
  json: { kind: 'boolean', description: 'print machine-readable JSON' },
  help: { kind: 'boolean', description: 'show this help' },
};

export function parseFlags(argv: readonly string[], specs: FlagSpecs): ParsedFlags {
  const all: FlagSpecs = { ...COMMON_FLAGS, ...specs };
  const strings = new Map<string, string>();
  const lists = new Map<string, string[]>();
  const booleans = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '-h') {
      booleans.add('help');
      continue;
    }
    if (!arg.startsWith('--') || arg === '--') {
      throw new CliUsageError(`unexpected argument "${arg}"; flags are written --name value`);
    }
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    const flag = `--${name}`;
    const spec = FLAG_NAME.test(name) ? all[name] : undefined;
    if (!spec) throw new CliUsageError(`unknown flag ${flag}`, flag);
    if (spec.kind === 'boolean') {
      const v = eq === -1 ? 'true' : arg.slice(eq + 1);
      if (v === 'true') booleans.add(name);
      else if (v === 'false') booleans.delete(name);
      else throw new CliUsageError(`${flag} takes no value (or =true / =false)`, flag);
      continue;
    }
    let value: string;
    if (eq !== -1) value = arg.slice(eq + 1);
    else {
      const next = argv[i + 1];
      if (next === undefined || (next.startsWith('--') && next.length > 2)) {
        throw new CliUsageError(
          `${flag} needs a value${spec.placeholder ? ` (${spec.placeholder})` : ''}`,
          flag,
        );
      }
      value = next;
      i++;
    }
    if (spec.kind === 'list') {
      const list = lists.get(name) ?? [];
      list.push(value);
      lists.set(name, list);
    } else {
      if (strings.has(name)) throw new CliUsageError(`${flag} is given twice`, flag);
      strings.set(name, value);
    }
  }
  if (!booleans.has('help')) {
    for (const [name, spec] of Object.entries(all)) {
      if (spec.required && !strings.has(name) && !lists.has(name)) {
        throw new CliUsageError(
          `--${name} is required${spec.placeholder ? ` (--${name} ${spec.placeholder})` : ''}`,
          `--${name}`,
        );
      }
    }
  }
  return { strings, lists, booleans };
}

/** Typed accessors over parsed flags; each conversion error names its flag. */
export class Flags {
  constructor(private readonly parsed: ParsedFlags) {}

  get json(): boolean {
    return this.parsed.booleans.has('json');
  }

  bool(name: string): boolean {
    return this.parsed.booleans.has(name);
  }

  has(name: string): boolean {
    return this.parsed.strings.has(name) || this.parsed.lists.has(name);
  }

  string(name: string): string | undefined {
    return this.parsed.strings.get(name);
  }

  /** A flag declared `required`: the parser has already checked it is present. */
  required(name: string): string {
    const v = this.parsed.strings.get(name);
    if (v === undefined) throw new CliUsageError(`--${name} is required`, `--${name}`);
    return v;
  }

  list(name: string): readonly string[] {
    return this.parsed.lists.get(name) ?? [];
  }

  /** A whole number in [min, max]. */
  int(name: string, min: number, max: number): number | undefined {
    const v = this.string(name);
    if (v === undefined) return undefined;
    const n = /^[0-9]+$/.test(v) ? Number(v) : Number.NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      throw new CliUsageError(
        `--${name} must be a whole number from ${min} to ${max} (got "${v}")`,
        `--${name}`,
      );
    }
    return n;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[]): T | undefined {
    const v = this.string(name);
    if (v === undefined) return undefined;
    if (!(allowed as readonly string[]).includes(v)) {
      throw new CliUsageError(`--${name} must be one of ${allowed.join(', ')} (got "${v}")`, `--${name}`);
    }
    return v as T;
  }

  /** `NAME=VALUE` pairs of a repeatable flag; a name given twice is an error. */
  pairs(name: string, what: string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const item of this.list(name)) {
      const eq = item.indexOf('=');
      if (eq <= 0 || eq === item.length - 1) {
        throw new CliUsageError(`--${name} must be ${what} (got "${truncate(item)}")`, `--${name}`);
      }
      const key = item.slice(0, eq);
      if (key in out) throw new CliUsageError(`--${name} ${key}=… is given twice`, `--${name}`);
      out[key] = item.slice(eq + 1);
    }
    return out;
  }
}

export function truncate(s: string, max = 40): string {
  return s.length > max ? `${s.slice(0, max)}…` : s;
}
