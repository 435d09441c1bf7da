// What a merchant installs: `npm pack` of packages/client (its prepack build), unpacked into a fresh
// project's node_modules, then used from plain Node ESM against the running gateway and type-checked
// from TypeScript with NodeNext resolution, as the package's `exports` and `types` promise.
import { execFile, execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../../scripts/gen-client';
import { generateWebhookSecret } from '../../src/webhooks/secrets';
import { signWebhook } from '../../src/webhooks/sign';
import { createTestContext, createTestMerchant, type TestContext } from '../helpers/services';

const PACKAGE = path.join(ROOT, 'packages/client');
const BIN = path.join(ROOT, 'node_modules/.bin');

let work: string;
let consumer: string;
let packed: string[];
let ctx: TestContext;
let server: ReturnType<typeof serve>;
let baseUrl: string;

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'alatau-client-'));
  // A copy of the package, so the build leaves no dist/ in the tree.
  const source = path.join(work, 'source');
  for (const entry of ['package.json', 'tsconfig.build.json', 'src', 'README.md']) {
    cpSync(path.join(PACKAGE, entry), path.join(source, entry), { recursive: true });
  }
  const env = { ...process.env, PATH: `${BIN}${path.delimiter}${process.env.PATH}` };
  const out = execFileSync('npm', ['pack', '--json', '--pack-destination', work], {
    cwd: source,
    env,
    encoding: 'utf8',
    timeout: 120_000,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const [info] = JSON.parse(out.slice(out.indexOf('['))) as { filename: string; files: { path: string }[] }[];
  packed = info!.files.map((f) => f.path);

  consumer = path.join(work, 'shop');
  const installed = path.join(consumer, 'node_modules/@alatau-pay/client');
  mkdirSync(installed, { recursive: true });
  execFileSync('tar', ['-xzf', path.join(work, info!.filename), '-C', installed, '--strip-components=1']);
  writeFileSync(path.join(consumer, 'package.json'), JSON.stringify({ name: 'shop', type: 'module' }));

  ctx = await createTestContext();
  baseUrl = await new Promise<string>((resolve) => {
    server = serve({ fetch: ctx.app.fetch, port: 0, hostname: '127.0.0.1' }, (info) =>
      resolve(`http://127.0.0.1:${info.port}`),
    );
  });
}, 180_000);
afterAll(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await ctx?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the packed @alatau-pay/client', () => {
  it('ships built JavaScript with types, and no tests or config', () => {
    expect(packed).toEqual(
      expect.arrayContaining(['package.json', 'dist/index.js', 'dist/index.d.ts', 'dist/webhooks.js']),
    );
    expect(packed.filter((f) => !/^(dist|src)\/|^package\.json$|^README\.md$/.test(f))).toEqual([]);
  });

  it('works from plain Node ESM: creates an invoice on the gateway and verifies a webhook', async () => {
    const apiKey = (await createTestMerchant(ctx)).apiKey.apiKey;
    const secret = generateWebhookSecret();
    const body = JSON.stringify({ type: 'invoice.created', data: { id: 'inv_x' } });
    const headers = await signWebhook({
      id: 'evt_1',
      timestampSeconds: Math.floor(Date.now() / 1000),
      body,
      secrets: [secret],
    });
    writeFileSync(
      path.join(consumer, 'main.mjs'),
      `import { AlatauClient, AlatauApiError } from '@alatau-pay/client';
import { verifyWebhook } from '@alatau-pay/client/webhooks';
const input = JSON.parse(process.env.INPUT);
const client = new AlatauClient({ baseUrl: input.baseUrl, apiKey: input.apiKey });
const invoice = await client.createInvoice({ amount: '99.00', currency: 'KZT' });
const read = await client.getInvoice(invoice.id);
let problem = null;
try { await client.createInvoice({ amount: 'x', currency: 'KZT' }); } catch (e) {
  problem = e instanceof AlatauApiError ? { status: e.status, code: e.code, paths: e.errors.map((x) => x.path) } : String(e);
}
const event = await verifyWebhook(input.secret, input.headers, input.body);
console.log(JSON.stringify({ status: read.status, same: read.id === invoice.id, problem, event }));
`,
    );
    // Asynchronously: the gateway answers from this very process.
    const { stdout: out } = await promisify(execFile)(process.execPath, ['main.mjs'], {
      cwd: consumer,
      env: { ...process.env, INPUT: JSON.stringify({ baseUrl, apiKey, secret, headers, body }) },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(JSON.parse(out)).toEqual({
      status: 'new',
      same: true,
      problem: { status: 422, code: 'validation_failed', paths: ['amount'] },
      event: JSON.parse(body),
    });
  }, 120_000);

  it('type-checks from TypeScript with NodeNext resolution, and its types are not `any`', () => {
    // The TypeScript examples of the merchant guide are checked against the package as installed.
    const guide = readFileSync(path.join(ROOT, 'docs/merchant/README.md'), 'utf8');
    const examples = [...guide.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
    expect(examples.filter((code) => code.includes("from '@alatau-pay/client")).length).toBe(examples.length);
    expect(examples.length).toBeGreaterThanOrEqual(2);
    const exampleFiles = examples.map((code, i) => {
      writeFileSync(path.join(consumer, `guide-${i}.ts`), code);
      return `guide-${i}.ts`;
    });
    writeFileSync(
      path.join(consumer, 'main.ts'),
      `import { AlatauClient, type Invoice } from '@alatau-pay/client';
import { verifyWebhook, WebhookVerificationError } from '@alatau-pay/client/webhooks';
const client = new AlatauClient({ baseUrl: 'https://pay.example', apiKey: 'sk_test_x' });
export async function run(): Promise<string> {
  const invoice: Invoice = await client.createInvoice({ amount: '1.00', currency: 'KZT' }, { idempotencyKey: 'k' });
  // @ts-expect-error amounts are decimal strings, never numbers
  await client.createInvoice({ amount: 1, currency: 'KZT' });
  // @ts-expect-error only tenge
  await client.createInvoice({ amount: '1.00', currency: 'USD' });
  const status: 'new' | 'processing' | 'settled' | 'expired' | 'invalid' = invoice.status;
  await verifyWebhook('whsec_x', new Headers(), '').catch((e: unknown) => e instanceof WebhookVerificationError);
  return status;
}
`,
    );
    writeFileSync(
      path.join(consumer, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          target: 'ES2022',
          lib: ['ES2023', 'DOM'],
          strict: true,
          noEmit: true,
          types: ['node'],
          typeRoots: [path.join(ROOT, 'node_modules/@types')],
        },
        files: ['main.ts', ...exampleFiles],
      }),
    );
    // Throws (with tsc's messages) on any type error, including an unused @ts-expect-error.
    execFileSync(path.join(BIN, 'tsc'), ['-p', 'tsconfig.json'], {
      cwd: consumer,
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(readdirSync(consumer)).toContain('main.ts');
  }, 120_000);
});
