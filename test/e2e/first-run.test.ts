// The README's first run, walked as written (issue 14 item 7): a fresh DATA_DIR, `npm start`, then the
// four commands of "A first paid invoice" read from README.md (so this breaks when the README drifts),
// the checkout opened in chromium, and the invoice seen settled with its webhook delivered.
//
// Nothing the README does not do: no receiver of the test's own (the demo merchant's webhooks go to the
// gateway's sandbox receiver, which step 4 reads). The one liberty: the gateway gets a free port through
// PORT (the README's way), so the README's fixed 127.0.0.1:8787 is replaced by it in the parsed commands.
// DATABASE_URL, when set, names a PostgreSQL server: the walk then runs on a new, empty database of
// its own there (never the server's own databases, which CI's later runs on this machine would find
// seeded, the banner then not shown).
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emptyDatabase } from '../helpers/db';
import { readmeCommands } from '../helpers/readme';
import { launchChromium, plain, skipBrowser } from './browser';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../..');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

let dataDir: string;
let database: { url: string; drop(): Promise<void> } | undefined;
let gateway: ChildProcess | undefined;
let output = '';
let browser: Browser;
let port: number;

describe.skipIf(skipBrowser)("the README's first run", () => {
  beforeAll(async () => {
    browser = await launchChromium();
    dataDir = await mkdtemp(path.join(tmpdir(), 'alatau-first-run-'));
    port = await freePort();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      DATA_DIR: dataDir,
      PORT: String(port),
      LOG_LEVEL: 'info',
    };
    delete env['DATABASE_URL'];
    if (process.env['DATABASE_URL']) {
      database = await emptyDatabase(process.env['DATABASE_URL']);
      env['DATABASE_URL'] = database.url;
    }
    // "npm start", as the README says; only the port, the data directory (and database) are the test's own.
    gateway = spawn('npm', ['start'], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    gateway.stdout!.on('data', (d: Buffer) => {
      output += d.toString();
    });
    gateway.stderr!.on('data', (d: Buffer) => {
      output += d.toString();
    });
    for (;;) {
      if (gateway.exitCode !== null) throw new Error(`npm start exited:\n${output}`);
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ready && /API key:\s+sk_\S+/.test(output)) break;
      await new Promise((r) => setTimeout(r, 250));
    }
  }, 180_000);
  afterAll(async () => {
    if (gateway?.pid && gateway.exitCode === null) {
      process.kill(-gateway.pid, 'SIGTERM');
      await new Promise((r) => gateway!.once('exit', r));
    }
    await browser?.close();
    await database?.drop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('reaches a settled invoice and a delivered webhook with the four commands', async () => {
    const key = /API key:\s+(sk_\S+)/.exec(output)![1]!;
    const base = `http://127.0.0.1:${port}`;
    const steps = readmeCommands('A first paid invoice').map((s) =>
      s.replaceAll('127.0.0.1:8787', `127.0.0.1:${port}`),
    );
    expect(steps).toHaveLength(4);
    const env: NodeJS.ProcessEnv = { ...process.env, KEY: key, DATA_DIR: dataDir, PORT: String(port) };
    const sh = async (script: string) =>
      (await run('bash', ['-euo', 'pipefail', '-c', script], { cwd: ROOT, env, timeout: 120_000 })).stdout;

    // 1. Create, keeping the id as the README does.
    const id = (await sh(`${steps[0]}\necho "$ID"`)).trim();
    expect(id).toMatch(/^inv_[0-9a-z]{26}$/);
    env.ID = id;
    // 2. The checkout URL it prints, opened in chromium.
    const url = (await sh(steps[1]!)).trim();
    expect(url).toBe(`${base}/pay/${id}`);
    const page = await browser.newPage();
    await page.goto(url);
    await page.waitForSelector('#checkout[data-live="events"]');
    // 3. Pay from the sandbox wallet; it returns once the invoice is settled and its invoice.settled
    // webhook has reached the sandbox receiver, and the open page turns to paid by itself.
    const paid = await sh(steps[2]!);
    expect(paid).toContain(`invoice ${id}: settled`);
    expect(paid).toContain('webhook invoice.settled received by');
    await page.waitForSelector('#status[data-phase="paid"]', { timeout: 120_000 });
    expect(plain(await page.locator('#status-title').textContent())).not.toBe('');
    // 4. Two answers, on the first try: the invoice, settled; then the sandbox receiver's list, with
    // invoice.settled received and its signature verified.
    const [invoiceJson, hooksJson] = (await sh(steps[3]!)).trim().split('\n');
    expect((JSON.parse(invoiceJson!) as { status: string }).status).toBe('settled');
    type Received = { received: { type: string; invoiceId: string; webhookId: string; verified: boolean }[] };
    const { received } = JSON.parse(hooksJson!) as Received;
    expect(received.find((r) => r.type === 'invoice.settled' && r.invoiceId === id)).toMatchObject({
      verified: true,
      webhookId: expect.any(String),
    });
    await page.close();
  }, 300_000);
});
