// Sign-in storm (issue 13 item 2): N parallel dashboard sign-ins with unknown emails at the default
// scrypt cost, while an API GET is timed. Prints RSS before and at its peak, the sign-in statuses and
// the GET's latency. Standalone (not in the bench registry): `DATABASE_URL=postgres://… npx tsx
// bench/signin-storm.ts [N]`.
import { createTestContext, createTestMerchant } from '../test/helpers/services';

const N = Number(process.argv[2] ?? 60);
const ctx = await createTestContext({ DASHBOARD_SCRYPT_LOG_N: '15' });
const { apiKey } = await createTestMerchant(ctx, { name: 'Storm Shop' });
const auth = { headers: { authorization: `Bearer ${apiKey.apiKey}` } };
await ctx.app.request('/v1/invoices', auth);

async function signIn(i: number): Promise<number> {
  const page = await ctx.app.request('/dashboard/login');
  const token = /name="csrf" value="([^"]+)"/.exec(await page.text())![1]!;
  const res = await ctx.app.request('/dashboard/login', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `dash_login=${token}` },
    body: new URLSearchParams({ csrf: token, email: `nobody${i}@storm.test`, password: 'wrong password!' }),
  });
  await res.arrayBuffer();
  return res.status;
}

globalThis.gc?.();
const mb = (n: number) => Math.round(n / 2 ** 20);
const before = process.memoryUsage().rss;
let peak = before;
const sampler = setInterval(() => {
  peak = Math.max(peak, process.memoryUsage().rss);
}, 20);
const t0 = performance.now();
const storm = Promise.all(Array.from({ length: N }, (_, i) => signIn(i)));
// API GETs one after another while the storm lasts: the slowest is what a merchant would see.
let done = false;
const gets: number[] = [];
const getStatuses = new Set<number>();
const poller = (async () => {
  while (!done) {
    const g0 = performance.now();
    const res = await ctx.app.request('/v1/invoices', auth);
    await res.arrayBuffer();
    gets.push(performance.now() - g0);
    getStatuses.add(res.status);
    await new Promise((r) => setTimeout(r, 50));
  }
})();
const statuses = await storm;
done = true;
await poller;
const stormMs = performance.now() - t0;
clearInterval(sampler);
const counts: Record<number, number> = {};
for (const s of statuses) counts[s] = (counts[s] ?? 0) + 1;
console.log(
  JSON.stringify({
    n: N,
    rssBeforeMb: mb(before),
    rssPeakMb: mb(peak),
    apiGets: gets.length,
    apiGetStatuses: [...getStatuses],
    apiGetMaxMs: Math.round(Math.max(...gets)),
    apiGetMedianMs: Math.round(gets.sort((a, b) => a - b)[Math.floor(gets.length / 2)]!),
    stormMs: Math.round(stormMs),
    statuses: counts,
    hashing: (ctx.services as { passwords?: { stats(): unknown } }).passwords?.stats(),
  }),
);
await ctx.close();
process.exit(0);
