// Runs the CLI in-process, capturing what it prints.
import { runCli } from '../../src/cli';

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout parsed as JSON (for --json runs). */
  json<T = Record<string, unknown>>(): T;
}

export function cliRunner(env: Record<string, string>) {
  return async (
    argv: readonly string[],
    extraEnv: Record<string, string | undefined> = {},
  ): Promise<CliRun> => {
    let stdout = '';
    let stderr = '';
    const code = await runCli(argv, {
      env: { ...env, ...extraEnv },
      stdout: { write: (s: string) => (stdout += s) },
      stderr: { write: (s: string) => (stderr += s) },
    });
    return { code, stdout, stderr, json: <T>() => JSON.parse(stdout) as T };
  };
}

/** The BIP84 test vector account (m/84'/1'/0' of "abandon … about"), as a vpub. */
export const BIP84_VPUB =
  'vpub5Y6cjg78GGuNLsaPhmYsiw4gYX3HoQiRBiSwDaBXKUafCt9bNwWQ' +
  'iitDk5VZ5BVxYnQdwoTyXSs2JHRPAgjAvtbBrf8ZhDYe2jWAqvZVnsc';
