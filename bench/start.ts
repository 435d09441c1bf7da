// SPEC section 9, start: seconds from `npm start` (src/node.ts, as `npm start` runs it) to a ready
// /readyz, on a fresh DATA_DIR (embedded database created, migrations, sandbox chains started and the
// contracts deployed) and again on that warm DATA_DIR; beside a bare Node HTTP server's start in the
// same run (what any Node process costs on this machine). `npx tsx bench/start.ts` runs it alone.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../sandbox/litecoin';
import { round } from './lib/format';
import type { Bench } from './lib/types';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const WARM_GOAL_S = 2;
export const FRESH_GOAL_S = 8;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * CPU seconds (user + system, all threads) a process has used, from /proc: less moved by other work
 * on the machine than wall time is. Undefined where there is no /proc.
 */
function cpuSeconds(pid: number | undefined): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // clock ticks; 100 per second on Linux
  } catch {
    return undefined;
  }
}

async function timeToReady(
  args: string[],
  env: NodeJS.ProcessEnv,
  url: string,
): Promise<{ s: number; cpu: number | undefined; child: ChildProcess; out: string }> {
  const t0 = performance.now();
  const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (d) => (out += d));
  child.stderr?.on('data', (d) => (out += d));
  for (;;) {
    if (child.exitCode !== null) throw new Error(`exited before ready: ${out.slice(-2000)}`);
    const ok = await fetch(url, { signal: AbortSignal.timeout(2_000) }).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return { s: (performance.now() - t0) / 1000, cpu: cpuSeconds(child.pid), child, out };
    if (performance.now() - t0 > 600_000) throw new Error(`not ready after 600 s: ${out.slice(-2000)}`);
    await sleep(20);
  }
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await exited;
}

export interface StartBenchResult {
  readonly freshSeconds: number;
  readonly warmSeconds: number;
  readonly bareNodeSeconds: number;
  /** CPU seconds the gateway process used until ready (its children, anvil and litecoind, not counted). */
  readonly freshCpuSeconds?: number;
  readonly warmCpuSeconds?: number;
  /** Progress lines of each start, with their times (where the seconds went). */
  readonly freshProgress: string[];
  readonly warmProgress: string[];
}

export async function benchStart(): Promise<StartBenchResult> {
  const dataDir = mkdtempSync(join(tmpdir(), 'alatau-bench-start-'));
  try {
    const port = await freePort();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      NETWORK_MODE: 'sandbox',
      DATA_DIR: dataDir,
      PORT: String(port),
      LOG_LEVEL: 'warn',
    };
    delete env['DATABASE_URL'];
    delete env['PUBLIC_URL'];
    const ready = `http://127.0.0.1:${port}/readyz`;
    const progress = (out: string) => out.split('\n').filter((l) => /^ {2}\S.*\(\d+\.\d s\)$/.test(l));

    const barePort = await freePort();
    const bare = await timeToReady(
      ['-e', `require('node:http').createServer((q, s) => s.end('ok')).listen(${barePort}, '127.0.0.1')`],
      env,
      `http://127.0.0.1:${barePort}/`,
    );
    await stop(bare.child);

    const fresh = await timeToReady(['--import', 'tsx', 'src/node.ts'], env, ready);
    await stop(fresh.child);
    const warm = await timeToReady(['--import', 'tsx', 'src/node.ts'], env, ready);
    await stop(warm.child);
    return {
      freshSeconds: round(fresh.s, 2),
      warmSeconds: round(warm.s, 2),
      bareNodeSeconds: round(bare.s, 3),
      ...(fresh.cpu === undefined ? {} : { freshCpuSeconds: round(fresh.cpu, 2) }),
      ...(warm.cpu === undefined ? {} : { warmCpuSeconds: round(warm.cpu, 2) }),
      freshProgress: progress(fresh.out),
      warmProgress: progress(warm.out),
    };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export const startBench: Bench = {
  name: 'start',
  spec: 'start',
  description: '`npm start` to /readyz: fresh DATA_DIR with the sandbox chains, then warm',
  async run() {
    const r = await benchStart();
    const bare = `${r.bareNodeSeconds} s (bare node)`;
    return {
      rows: [
        {
          name: 'start: fresh, chains included',
          figure: `${r.freshSeconds} s`,
          baseline: bare,
          ratio: round(r.freshSeconds / r.bareNodeSeconds, 1),
          goal: `< ${FRESH_GOAL_S} s idle`,
          pass: r.freshSeconds < FRESH_GOAL_S,
        },
        {
          name: 'start: warm',
          figure: `${r.warmSeconds} s`,
          baseline: bare,
          ratio: round(r.warmSeconds / r.bareNodeSeconds, 1),
          goal: `< ${WARM_GOAL_S} s idle`,
          pass: r.warmSeconds < WARM_GOAL_S,
        },
      ],
      details: r,
      notes: [
        `start progress (fresh): ${r.freshProgress.map((l) => l.trim()).join(' | ')}`,
        ...(r.freshCpuSeconds === undefined
          ? []
          : [
              `CPU until ready (the gateway process): fresh ${r.freshCpuSeconds} s, warm ${r.warmCpuSeconds} s`,
            ]),
      ],
    };
  },
};

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  benchStart().then(
    (r) => console.log(JSON.stringify(r, null, 2)),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
