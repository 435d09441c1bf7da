// The console's audit page shows what `audit verify` checks: the hash chain and every signed
// checkpoint. A superuser who rewrites an entry and recomputes the later hashes leaves a chain that
// links; only the checkpoints show it, so the page must say so, not "verifies".
import { ed25519 } from '@noble/curves/ed25519.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditKeyFromSecret } from '../../src/audit/checkpoints';
import { appendAudit, entryHash } from '../../src/audit/log';
import { runTick } from '../../src/watch/tick';
import { amlContext, newRegulator } from '../aml/support';

const PASSWORD = 'correct horse battery staple';
const secret = bytesToHex(ed25519.utils.randomSecretKey());
const key = auditKeyFromSecret(secret);
const earlier = auditKeyFromSecret(bytesToHex(ed25519.utils.randomSecretKey()));
let ctx: Awaited<ReturnType<typeof amlContext>>;
let cookie: string;

beforeAll(async () => {
  ctx = await amlContext({
    AUDIT_SIGNING_KEY: secret,
    AUDIT_TRUSTED_PUBLIC_KEYS: earlier.publicKeyHex,
    AUDIT_CHECKPOINT_INTERVAL_SECONDS: '3600',
  });
  await newRegulator(ctx, 'Aigerim Sadykova', 'audit.page@afm.test', PASSWORD);
  const page = await ctx.app.request('/regulator/login');
  const token = /name="csrf" value="([^"]+)"/.exec(await page.text())![1]!;
  const res = await ctx.app.request('/regulator/login', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `rg_login=${token}` },
    body: new URLSearchParams({ csrf: token, email: 'audit.page@afm.test', password: PASSWORD }).toString(),
  });
  expect(res.status).toBe(303);
  cookie = res.headers
    .getSetCookie()
    .map((c) => c.split(';')[0]!)
    .find((c) => c.startsWith('rg_session='))!;
});
afterAll(() => ctx?.close());

const auditPage = async () => {
  const res = await ctx.app.request('/regulator/audit', { headers: { cookie } });
  expect(res.status).toBe(200);
  return res.text();
};
const attr = (html: string, id: string, name: string) =>
  new RegExp(`id="${id}"[^>]*${name}="([^"]*)"`).exec(html)?.[1];
const rows = (html: string, table: string) =>
  (new RegExp(`id="${table}"[\\s\\S]*?</table>`).exec(html)?.[0] ?? '').match(/<tr data-[a-z]+="[^"]*"/g) ??
  [];

describe('/regulator/audit', () => {
  it('needs a session', async () => {
    const res = await ctx.app.request('/regulator/audit');
    expect([302, 303]).toContain(res.status);
    expect(res.headers.get('location')).toBe('/regulator/login');
  });

  it('shows the signed heads, the keys trusted, and that they agree with the chain', async () => {
    expect(await auditPage()).toContain('No checkpoints yet');
    await ctx.db.sql.begin((tx) => appendAudit(tx, { actor: 'test', action: 'test.step', data: { i: 1 } }));
    await runTick(ctx.services);
    const html = await auditPage();
    expect(attr(html, 'audit-result', 'data-ok')).toBe('true');
    expect(attr(html, 'audit-checkpoints', 'data-ok')).toBe('true');
    expect(html).toContain('1 signed checkpoint agrees with the chain');
    const [cp] = await ctx.db.sql<{ seq: string; head_hash: string }[]>`
      select seq::text, head_hash from audit_checkpoints`;
    expect(html).toContain(cp!.head_hash);
    expect(rows(html, 'checkpoint-list')).toEqual(['<tr data-result="verifies"']);
    // The key that signs now and the earlier one still trusted.
    expect(html).toContain(key.publicKeyHex);
    expect(html).toContain(earlier.publicKeyHex);
  });

  it('a rewrite with recomputed hashes: the chain links, the page says the checkpoints contradict it', async () => {
    const [entry] = await ctx.db.sql<
      { id: string; at: Date; actor: string; action: string; subject: string | null; prev_hash: string }[]
    >`select id::text, at, actor, action, subject, prev_hash from audit_log where action = 'test.step'`;
    await ctx.db.sql.begin(async (tx) => {
      await tx`alter table audit_log disable trigger audit_log_no_update`;
      const data = { i: 2 };
      const hash = entryHash({
        id: BigInt(entry!.id),
        at: new Date(entry!.at).toISOString(),
        actor: entry!.actor,
        action: entry!.action,
        subject: entry!.subject,
        data,
        prevHash: entry!.prev_hash,
      });
      await tx`update audit_log set data = ${tx.json(data)}, hash = ${hash} where id = ${entry!.id}`;
      await tx`alter table audit_log enable trigger audit_log_no_update`;
    });
    const html = await auditPage();
    expect(attr(html, 'audit-result', 'data-ok')).toBe('false');
    expect(html).toContain('signed checkpoints contradict it');
    expect(attr(html, 'audit-checkpoints', 'data-ok')).toBe('false');
    expect(rows(html, 'checkpoint-failures')).toEqual(['<tr data-problem="hash mismatch"']);
    expect(rows(html, 'checkpoint-list')).toEqual(['<tr data-result="hash mismatch"']);
    expect(html).toContain('the log was rewritten');
  });
});
