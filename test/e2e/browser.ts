// Shared pieces of the browser tests: Debian's chromium through playwright-core, the app served on
// 127.0.0.1:0, a guard that records (and refuses) any request to another host, and screenshots.
import { existsSync, mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Under CI or REQUIRE_CHROMIUM=1 a missing browser fails the tests instead of skipping them. */
export const chromiumRequired = Boolean(process.env.CI) || process.env.REQUIRE_CHROMIUM === '1';
export const skipBrowser = !existsSync(CHROMIUM) && !chromiumRequired;

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

export interface Served {
  readonly base: string;
  close(): Promise<void>;
}

export function serveApp(fetch: (req: Request) => Response | Promise<Response>): Promise<Served> {
  return new Promise((resolve) => {
    const server = serve({ fetch, port: 0, hostname: '127.0.0.1' }, () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        base: `http://127.0.0.1:${port}`,
        close: () =>
          new Promise<void>((done) => {
            // SSE streams stay open: drop them so close() returns.
            (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
            server.close(() => done());
          }),
      });
    });
  });
}

/**
 * Every request the context makes to an origin outside `allowed` is aborted and recorded, so a test can
 * assert that the pages fetch nothing from a third-party host (fonts, scripts, analytics, …).
 */
export async function guardThirdParty(
  context: BrowserContext,
  allowed: () => readonly string[],
): Promise<string[]> {
  const foreign: string[] = [];
  await context.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if (url.protocol === 'data:' || allowed().includes(url.origin)) return route.continue();
    foreign.push(url.href);
    return route.abort('blockedbyclient');
  });
  return foreign;
}

/** Collects CSP violations the page reports (there should be none). */
export async function recordCspViolations(context: BrowserContext): Promise<void> {
  await context.addInitScript(() => {
    const w = window as unknown as { __csp: string[] };
    w.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) =>
      w.__csp.push(`${e.violatedDirective} ${e.blockedURI}`),
    );
  });
}

export const cspViolations = (page: Page): Promise<string[]> =>
  page.evaluate(() => (window as unknown as { __csp: string[] }).__csp);

/**
 * Where screenshots go: docs/screenshots when UPDATE_SCREENSHOTS=1 (the files linked from the README),
 * a temporary directory otherwise, so an ordinary test run changes no tracked file.
 */
export function screenshotDir(): string {
  const dir =
    process.env.UPDATE_SCREENSHOTS === '1'
      ? join(process.cwd(), 'docs', 'screenshots')
      : join(tmpdir(), 'alatau-screenshots');
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Text as people read it: no-break and narrow spaces as plain spaces. */
export const plain = (s: string | null | undefined): string =>
  (s ?? '').replace(/[\u00a0\u202f]/g, ' ').trim();
