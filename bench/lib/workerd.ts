// The Worker in workerd without `wrangler dev` around it: the bundle `wrangler deploy --dry-run`
// writes, run by Miniflare (wrangler's own dependency, reached through it). `wrangler dev` adds a
// proxy worker in front of the Worker (another HTTP hop per request) and a local Hyperdrive relay in
// a Node process behind it; here HYPERDRIVE is a plain binding with the database's own connection
// string, so each request's postgres.js client connects straight to PostgreSQL from workerd. The same
// src/worker.ts, the same one connection per request, the same [vars] as wrangler.toml plus `vars`.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const WRANGLER = join(ROOT, 'node_modules/wrangler/bin/wrangler.js');

interface MiniflareLike {
  readonly ready: Promise<URL>;
  dispose(): Promise<void>;
}
type MiniflareCtor = new (options: Record<string, unknown>) => MiniflareLike;

/** Bundles the Worker, starts it in workerd on a free loopback port, resolves with its URL. */
export async function startWorkerd(
  databaseUrl: string,
  vars: Readonly<Record<string, string>>,
): Promise<{ url: string; stop: () => Promise<void> }> {
  const out = mkdtempSync(join(tmpdir(), 'alatau-workerd-'));
  try {
    await promisify(execFile)(process.execPath, [WRANGLER, 'deploy', '--dry-run', '--outdir', out], {
      cwd: ROOT,
      env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CI: '1' },
    });
    // miniflare is wrangler's dependency, not ours: resolved from wrangler's own location.
    const { Miniflare } = createRequire(WRANGLER)('miniflare') as { Miniflare: MiniflareCtor };
    const mf = new Miniflare({
      modules: true,
      scriptPath: join(out, 'worker.js'),
      modulesRoot: out,
      ...compatibilityFromWranglerToml(),
      bindings: {
        NETWORK_MODE: 'sandbox',
        JOBS: 'false',
        SEED_DEMO: 'false',
        LOG_LEVEL: 'silent',
        ...vars,
        HYPERDRIVE: { connectionString: databaseUrl },
      },
      host: '127.0.0.1',
      port: 0,
    });
    const url = (await mf.ready).origin;
    return {
      url,
      stop: async () => {
        await mf.dispose();
        rmSync(out, { recursive: true, force: true });
      },
    };
  } catch (err) {
    rmSync(out, { recursive: true, force: true });
    throw err;
  }
}

/** compatibility_date and compatibility_flags as wrangler.toml sets them. */
function compatibilityFromWranglerToml(): { compatibilityDate: string; compatibilityFlags: string[] } {
  const toml = readFileSync(join(ROOT, 'wrangler.toml'), 'utf8');
  const date = /^compatibility_date\s*=\s*"([^"]+)"/m.exec(toml)?.[1];
  const flags = /^compatibility_flags\s*=\s*\[([^\]]*)\]/m.exec(toml)?.[1];
  if (!date) throw new Error('wrangler.toml has no compatibility_date');
  return {
    compatibilityDate: date,
    compatibilityFlags: [...(flags ?? '').matchAll(/"([^"]+)"/g)].map((m) => m[1]!),
  };
}
