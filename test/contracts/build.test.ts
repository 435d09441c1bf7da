import { execFile } from 'node:child_process';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  compileContracts,
  describeDiff,
  diffGenerated,
  GENERATED_DIR,
  type GeneratedFiles,
  PROJECT_ROOT,
  runBuildCli,
  writeGenerated,
} from '../../contracts/build';

const run = promisify(execFile);

let files: GeneratedFiles;
let workDir: string;

beforeAll(async () => {
  files = await compileContracts();
  workDir = await mkdtemp(path.join(tmpdir(), 'alatau-contracts-'));
});

afterAll(async () => {
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

async function copyOfGenerated(name: string): Promise<string> {
  const dir = path.join(workDir, name);
  await cp(GENERATED_DIR, dir, { recursive: true });
  return dir;
}

/** Runs `tsx contracts/build.ts --check --out-dir <dir>`; resolves with its exit code and output. */
async function runCheck(dir: string): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      ['--import', 'tsx', 'contracts/build.ts', '--check', '--out-dir', dir],
      { cwd: PROJECT_ROOT },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe('contracts/build.ts', () => {
  it('produces a module per deployable contract, ABI and bytecode, plus an index', () => {
    const names = [...files.keys()].sort();
    for (const name of [
      'DepositFactory.ts',
      'DepositForwarder.ts',
      'MockSanctionsOracle.ts',
      'PaymentRouter.ts',
      'TestToken.ts',
      'index.ts',
    ]) {
      expect(names).toContain(name);
    }
    const router = files.get('PaymentRouter.ts')!;
    expect(router).toMatch(/^export const PaymentRouterAbi = \[/m);
    expect(router).toMatch(/^export const PaymentRouterBytecode = '0x[0-9a-f]+' as const;$/m);
    expect(files.get('index.ts')).toContain("export * from './PaymentRouter';");
    // An interface has an ABI only.
    expect(files.get('ISanctionsOracle.ts')).not.toContain('Bytecode');
  });

  it('matches the generated files committed on disk (what CI checks)', async () => {
    expect(await diffGenerated(GENERATED_DIR, files)).toEqual({ changed: [], missing: [], stale: [] });
  });

  it('detects a changed, a missing and a stale generated file', async () => {
    const dir = await copyOfGenerated('diff');
    const routerFile = path.join(dir, 'PaymentRouter.ts');
    const original = await readFile(routerFile, 'utf8');
    await writeFile(
      routerFile,
      original.replace(/Bytecode = '0x(.)/, (_m, c: string) => `Bytecode = '0x${c === 'a' ? 'b' : 'a'}`),
    );
    await rm(path.join(dir, 'TestToken.ts'));
    await writeFile(path.join(dir, 'Removed.ts'), 'export const RemovedAbi = [] as const;\n');

    const diff = await diffGenerated(dir, files);
    expect(diff).toEqual({ changed: ['PaymentRouter.ts'], missing: ['TestToken.ts'], stale: ['Removed.ts'] });
    const message = describeDiff(dir, diff)!;
    expect(message).toContain('PaymentRouter.ts: differs from a fresh build');
    expect(message).toContain('TestToken.ts: missing');
    expect(message).toContain('Removed.ts: no longer produced');
    expect(message).toContain('npm run contracts:build');

    // Writing repairs the directory, stale file included.
    await writeGenerated(dir, files);
    expect(await diffGenerated(dir, files)).toEqual({ changed: [], missing: [], stale: [] });
    expect((await readdir(dir)).sort()).toEqual([...files.keys()].sort());
  });

  it('--check exits 1 naming the file that differs, and 0 when everything matches', async () => {
    const dir = await copyOfGenerated('cli');
    const out: string[] = [];
    const err: string[] = [];
    const io = {
      stdout: (t: string) => out.push(t),
      stderr: (t: string) => err.push(t),
      compile: async () => files,
    };

    expect(await runBuildCli(['--check', '--out-dir', dir], io)).toBe(0);
    expect(out.join('')).toContain('up to date');
    expect(err).toEqual([]);

    const file = path.join(dir, 'DepositForwarder.ts');
    await writeFile(file, (await readFile(file, 'utf8')).replace('"name": "flush"', '"name": "flushAll"'));
    expect(await runBuildCli(['--check', '--out-dir', dir], io)).toBe(1);
    expect(err.join('')).toContain('DepositForwarder.ts: differs from a fresh build');
    expect(await runBuildCli(['--bogus'], io)).toBe(1);
    expect(err.join('')).toContain('unknown argument --bogus');
  });

  it('runs as `tsx contracts/build.ts --check` and fails on a modified copy', {
    timeout: 180_000,
  }, async () => {
    const dir = await copyOfGenerated('spawned');
    const file = path.join(dir, 'PaymentRouter.ts');
    await writeFile(file, `${await readFile(file, 'utf8')}// edited by hand\n`);
    const result = await runCheck(dir);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('PaymentRouter.ts: differs from a fresh build');
    expect(result.stderr).toContain('npm run contracts:build');
  });
});
