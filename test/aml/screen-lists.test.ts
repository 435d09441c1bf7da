// The screening lists in memory when services are made per request (the Workers entry): one list
// store per isolate is read once, and again only after its version counter moves.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createListStore, type ListStore } from '../../src/aml/screen';
import { screeningFromConfig } from '../../src/aml/wiring';
import { silentLogger } from '../../src/lib/log';
import { amlContext, newInvoice, operatorList, PAYER_BTC } from './support';

const OTHER_BTC = 'bcrt1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qzf5gsy';

let ctx: Awaited<ReturnType<typeof amlContext>>;
let invoiceId: string;
beforeAll(async () => {
  ctx = await amlContext();
  await operatorList(ctx, `address,asset,name,reason\n${PAYER_BTC},BTC,Listed payer,test listing\n`);
  invoiceId = (await newInvoice(ctx, ctx.merchantId)).id;
});
afterAll(() => ctx?.close());

/** What the Worker does for each request: fresh services, the isolate's list store. */
const perRequest = (store: ListStore) =>
  screeningFromConfig(ctx.config, ctx.db.sql, ctx.services.state, silentLogger, { listStore: store });

const allowed = async (store: ListStore, address: string) =>
  (
    await perRequest(store).screenPayer({
      network: 'bitcoin-regtest',
      address,
      invoiceId,
      amountTiyn: 1_500_000n,
    })
  ).allowed;

describe('a list store shared by per-request screening services', () => {
  it('reads the lists once for many requests', async () => {
    const store = createListStore();
    for (let i = 0; i < 5; i++) {
      expect(await allowed(store, PAYER_BTC)).toBe(false);
      expect(await allowed(store, OTHER_BTC)).toBe(true);
    }
    expect(store.loads).toBe(1);
    // Another isolate (another store) reads them for itself.
    const other = createListStore();
    expect(await allowed(other, PAYER_BTC)).toBe(false);
    expect(other.loads).toBe(1);
    expect(store.loads).toBe(1);
  });

  it('checks the version after the poll interval and reloads only when it moved', async () => {
    const store = createListStore();
    expect(await allowed(store, OTHER_BTC)).toBe(true);
    expect(store.loads).toBe(1);

    // The poll interval passes with no import: a version check, no reload.
    store.checkedAt = 0;
    expect(await allowed(store, OTHER_BTC)).toBe(true);
    expect(store.checkedAt).toBeGreaterThan(0);
    expect(store.loads).toBe(1);

    // Another process lists the address: within the interval this isolate has not looked yet...
    await operatorList(
      ctx,
      `address,asset,name,reason\n${PAYER_BTC},BTC,Listed payer,test listing\n${OTHER_BTC},BTC,Newly listed,test\n`,
    );
    store.checkedAt = Date.now();
    expect(await allowed(store, OTHER_BTC)).toBe(true);
    expect(store.loads).toBe(1);
    // ...after it, the next request sees the new version, reads the lists once, and refuses.
    store.checkedAt = 0;
    expect(await allowed(store, OTHER_BTC)).toBe(false);
    expect(await allowed(store, OTHER_BTC)).toBe(false);
    expect(store.loads).toBe(2);
  });
});
