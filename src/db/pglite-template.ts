// A fresh embedded database starts as a copy of an empty, initialised PGlite data directory kept in
// node_modules/.cache: PGlite's initdb runs in WASM on the main thread (about 3 s, blocking the event
// loop, so the sandbox chains starting beside it stall too), while a copy and a reopen take well under
// a second. The template is built once per PGlite version: at `npm install` (postinstall) or, if
// missing, by the first fresh start. It lives beside the code that runs it (the same trust), never in
// a shared temporary directory another user could plant a data directory in.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmdirSync, rmSync } from 'node:fs';
import { cp } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, dirname, join, sep } from 'node:path';

/** Bumped when what the template holds changes (it is an empty, freshly initialised cluster). */
const FORMAT = 1;

/** `node_modules/.cache/alatau-pay/pglite-<version>-<format>`, or undefined if PGlite's install is not found. */
export function templatePath(): string | undefined {
  try {
    const require = createRequire(import.meta.url);
    const entry = require.resolve('@electric-sql/pglite');
    const pkgDir = join(dirname(entry), '..');
    const { name, version } = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as {
      name?: unknown;
      version?: unknown;
    };
    if (name !== '@electric-sql/pglite' || typeof version !== 'string' || !/^[\w.+-]+$/.test(version))
      return undefined;
    const at = pkgDir.lastIndexOf(`${sep}node_modules${sep}`);
    if (at < 0) return undefined;
    const nodeModules = pkgDir.slice(0, at + `${sep}node_modules`.length);
    return join(nodeModules, '.cache', 'alatau-pay', `pglite-${version}-${FORMAT}`);
  } catch {
    return undefined;
  }
}

const complete = (dir: string) => existsSync(join(dir, 'PG_VERSION'));
const tmpName = (path: string) => `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes what a killed build or copy left beside `path` (`<name>.tmp-<pid>-…` of a dead pid). */
function removeStale(path: string): void {
  const prefix = `${basename(path)}.tmp-`;
  let names: string[];
  try {
    names = readdirSync(dirname(path));
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(name.slice(prefix.length).split('-')[0]);
    if (Number.isSafeInteger(pid) && pid > 0 && !alive(pid))
      rmSync(join(dirname(path), name), { recursive: true, force: true });
  }
}

/**
 * The template's path, building it first if it is missing (PGlite's initdb into a temporary
 * directory, closed cleanly, then renamed into place, so no reader ever sees half of one).
 * Undefined when it cannot be had (no writable cache): the caller lets PGlite run initdb itself.
 */
export async function ensurePgliteTemplate(path = templatePath()): Promise<string | undefined> {
  if (!path) return undefined;
  if (complete(path)) return path;
  const tmp = tmpName(path);
  try {
    mkdirSync(dirname(path), { recursive: true });
    removeStale(path);
    const { PGlite } = await import('@electric-sql/pglite');
    const db = await PGlite.create(tmp);
    await db.close();
    try {
      renameSync(tmp, path);
    } catch (err) {
      // Another process finished one first: theirs is as good as ours.
      if (!complete(path)) throw err;
    }
    return path;
  } catch {
    return complete(path) ? path : undefined;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * Fills an empty `pgDir` from the template; false (and `pgDir` untouched) when there is no template
 * or `pgDir` already holds something. Copied beside it and renamed, so a start killed mid-copy
 * leaves no half database behind (PGlite would take a partial directory for an existing cluster).
 */
export async function initFromTemplate(pgDir: string, path?: string): Promise<boolean> {
  if (existsSync(pgDir) && readdirSync(pgDir).length > 0) return false;
  const template = await ensurePgliteTemplate(path);
  if (!template) return false;
  removeStale(pgDir);
  const tmp = tmpName(pgDir);
  try {
    // Asynchronous: the sandbox chains starting beside it keep being served meanwhile.
    await cp(template, tmp, { recursive: true });
    if (existsSync(pgDir)) rmdirSync(pgDir);
    renameSync(tmp, pgDir);
    return true;
  } catch {
    return false;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
