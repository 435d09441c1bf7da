// The chaos run's short form (sandbox/chaos.ts) as a child process: two gateway processes need a
// PostgreSQL server they share, so this runs only when DATABASE_URL is a real PostgreSQL (CI's
// PostgreSQL pass); the embedded database cannot be opened by two processes.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { anvilBinary } from '../helpers/anvil';
import { litecoindAvailable } from '../helpers/litecoind';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const realPostgres = Boolean(process.env['DATABASE_URL']);

function anvilAvailable(): boolean {
  let found = false;
  try {
    found = existsSync(anvilBinary());
  } catch {
    found = false;
  }
  if (found) return true;
  const reason = 'the anvil binary is missing (npm install with optional dependencies, or set ANVIL_BIN)';
  if (process.env['CI'] || process.env['REQUIRE_ANVIL'] === '1')
    throw new Error(`${reason}: required because CI or REQUIRE_ANVIL=1 is set`);
  console.warn(`[skip] chaos run skipped: ${reason}`);
  return false;
}

const runnable = realPostgres && anvilAvailable() && litecoindAvailable();
if (!realPostgres)
  console.warn(
    '[skip] chaos run skipped: it needs DATABASE_URL pointing at a real PostgreSQL server (two gateway processes share it; the embedded database is one process)',
  );

describe.skipIf(!runnable)('chaos run, short form', () => {
  it('keeps every payment, state and event through kills and reorgs, and says so', async () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'sandbox/chaos.ts', '--short', '--seed', '42'],
      {
        cwd: ROOT,
        env: { ...process.env, PG_ADMIN_URL: process.env['DATABASE_URL'] },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    // Streamed as it comes (a slow machine shows where the time goes) and kept for the assertions.
    const take = (d: string) => {
      out += d;
      process.stderr.write(d);
    };
    child.stdout.setEncoding('utf8').on('data', take);
    child.stderr.setEncoding('utf8').on('data', take);
    // Before vitest's own timeout: SIGTERM lets the run stop its nodes and drop its database.
    const guard = setTimeout(() => child.kill('SIGTERM'), 450_000);
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    clearTimeout(guard);
    expect(code).toBe(0);
    expect(out).toContain('chaos: PASS');
    expect(out).not.toContain('BREACH');
    expect(out).toMatch(/\[ok\] {3}every on-chain payment credited exactly once \((\d+) of \1;/);
    expect(out).toMatch(/\[ok\] {3}every invoice's state agrees with the chain \((\d+) of \1\)/);
    expect(out).toMatch(/\[ok\] {3}every event delivered at least once \((\d+) of \1;/);
    expect(out).toMatch(/\[ok\] {3}audit chain verifies \([1-9]\d* entries\)/);
    // The chaos happened: processes were killed, both chains reorganised, deliveries refused.
    expect(out).toMatch(/SIGKILLed [1-9]\d* times/);
    expect(out).toMatch(/anvil depth [1-9]\d* \([1-9]\d* payments gone\)/);
    expect(out).toMatch(/invalidateblock at height [1-9]\d* \([1-9]\d* payments re-mined\)/);
    expect(out).toMatch(/[1-9]\d* refused on purpose/);
    // The database-termination storm: the gateway survived it and every key got one invoice.
    expect(out).toMatch(/\[ok\] {3}the gateway survived [1-9]\d* terminated backends/);
    expect(out).toMatch(/\[ok\] {3}exactly one invoice per key \((\d+) of \1\)/);
  }, 480_000);
});
