// Real OFAC addresses (../shared/data/ofac) through the database-backed lists and the screening
// service: listed addresses are refused, a delisted one is not, base58 case matters, a re-import keeps
// a version with its changes, and another process's service sees the change.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePlainList } from '../../src/aml/lists/csv';
import { importList, listSummaries, loadIndex } from '../../src/aml/lists/store';
import { createScreening } from '../../src/aml/screen';
import { silentLogger } from '../../src/lib/log';
import { readOfacTxt, TORNADO_ROUTER } from './lists/data';
import { amlContext, newInvoice } from './support';

let ctx: Awaited<ReturnType<typeof amlContext>>;
let invoiceId: string;

const plain = (asset: string, text = readOfacTxt(asset)) =>
  importList(ctx.db.sql, {
    listId: `ofac-${asset.toLowerCase()}`,
    name: `OFAC ${asset}`,
    source: 'plain',
    label: 'lists branch 2025-12-04',
    entries: parsePlainList(text, asset),
    actor: 'test',
  });

beforeAll(async () => {
  ctx = await amlContext();
  for (const asset of ['XBT', 'ETH', 'USDT', 'LTC']) await plain(asset);
  await ctx.services.screening.refresh();
  invoiceId = (await newInvoice(ctx, ctx.merchantId)).id;
});
afterAll(() => ctx?.close());

const screen = (network: 'bitcoin' | 'ethereum' | 'litecoin', address: string) =>
  ctx.services.screening.screenPayer({ network, address, invoiceId, amountTiyn: 1_500_000n });

describe('OFAC lists in the database', () => {
  it('stores every address of the per-asset files, one version each', async () => {
    const lists = await listSummaries(ctx.db.sql);
    const byId = new Map(lists.map((l) => [l.id, l]));
    expect(byId.get('ofac-xbt')).toMatchObject({ entryCount: 517, version: 1, source: 'plain' });
    expect(byId.get('ofac-eth')).toMatchObject({ entryCount: 77, version: 1 });
    expect((await loadIndex(ctx.db.sql)).has('123WBUDmSJv4GctdVEz6Qq6z8nXSKrJ4KX')).toBe(true);
  });

  it('refuses listed payers: base58, bech32 in any case, EVM in any case', async () => {
    expect(await screen('bitcoin', '123WBUDmSJv4GctdVEz6Qq6z8nXSKrJ4KX')).toEqual({ allowed: false });
    expect(await screen('bitcoin', 'BC1Q05AKTDDF9CE4P7HH3STGSF253M4VWEU7NKHTMW')).toEqual({ allowed: false });
    expect(await screen('ethereum', '0x04dba1194ee10112fe6c3207c0687def0e78bacf')).toEqual({
      allowed: false,
    });
    expect(await screen('litecoin', 'LNf2JDiuunBz7GMDKFYHN4rq5meXWxiwfb')).toEqual({ allowed: false });
  });

  it('base58 is case-sensitive: the same letters in another case are another address', async () => {
    expect(await screen('bitcoin', '123wbudmsjv4gctdvez6qq6z8nxskrj4kx')).toEqual({ allowed: true });
    expect(await screen('bitcoin', '123WBUDMSJV4GCTDVEZ6QQ6Z8NXSKRJ4KX')).toEqual({ allowed: true });
  });

  it('does not flag the delisted Tornado Cash router', async () => {
    expect(await screen('ethereum', TORNADO_ROUTER)).toEqual({ allowed: true });
    expect(await screen('ethereum', TORNADO_ROUTER.toLowerCase())).toEqual({ allowed: true });
  });

  it('a re-import records what was added and removed; another process reloads on its next screening', async () => {
    // "Another process": its own service with its own in-memory lists, polling the shared counter.
    const other = createScreening({
      sql: ctx.db.sql,
      state: ctx.services.state,
      logger: silentLogger,
      thresholdTiyn: 500_000_000n,
      reporter: { senderCode: 'TEST', name: 'Test' },
      listPollMs: 0,
    });
    const otherScreen = (address: string) =>
      other.screenPayer({ network: 'bitcoin', address, invoiceId, amountTiyn: 1n });
    expect(await otherScreen('123WBUDmSJv4GctdVEz6Qq6z8nXSKrJ4KX')).toEqual({ allowed: false });

    const lines = readOfacTxt('XBT').split('\n').filter(Boolean);
    const removed = lines.slice(0, 2);
    const added = 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4';
    const next = [...lines.slice(2), added].join('\n');
    const r = await plain('XBT', next);
    expect(r).toMatchObject({ version: 2, entryCount: 516, added: 1, removed: 2 });
    const changes = await ctx.db.sql`select change, address from sanction_list_changes
      where list_id = 'ofac-xbt' and version = 2 order by change, address`;
    expect(changes.map((c) => [c.change, c.address])).toEqual([
      ['added', added],
      ...removed.sort().map((a) => ['removed', a]),
    ]);
    const [v] = await ctx.db.sql`select added_count, removed_count, label from sanction_list_versions
      where list_id = 'ofac-xbt' and version = 2`;
    expect(v).toMatchObject({ added_count: 1, removed_count: 2 });
    const [audit] = await ctx.db.sql`select data from audit_log where action = 'aml.list_imported'
      and subject = 'ofac-xbt' order by id desc limit 1`;
    expect(audit!.data).toMatchObject({ version: 2, added: 1, removed: 2 });

    expect(await otherScreen(removed[0]!)).toEqual({ allowed: true });
    expect(await otherScreen(added.toUpperCase())).toEqual({ allowed: false });
  });
});
