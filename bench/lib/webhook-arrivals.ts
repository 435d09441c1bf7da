// The webhook leg of the detection benches (SPEC section 9: "… to the invoice's state change and to
// the webhook's arrival"): a local receiver subscribed to the payment events, fed by the real
// dispatcher (outbox fan-out, signing, HTTP) ticking in a loop as the gateway's tick loop runs it.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { EventType } from '../../src/invoices/state';
import type { Services } from '../../src/services';
import { runWebhookTick } from '../../src/webhooks/dispatch';
import { createEndpoint } from '../../src/webhooks/repository';

export interface WebhookArrivals {
  /** Date.now() when the first delivery of (invoice id, event type) arrived. */
  at(invoiceId: string, type: EventType): number | undefined;
  /** Deliveries received, duplicates included. */
  readonly received: number;
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A local receiver noting when each (invoice id, event type) first arrived; answers 204. */
export async function startArrivalReceiver() {
  const first = new Map<string, number>();
  let received = 0;
  const server = createServer((req, res) => {
    const arrived = Date.now();
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received++;
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
          type?: string;
          data?: { invoice?: { id?: string } };
        };
        const key = `${body.data?.invoice?.id}\n${body.type}`;
        if (!first.has(key)) first.set(key, arrived);
      } catch {}
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`,
    at: (invoiceId: string, type: string) => first.get(`${invoiceId}\n${type}`),
    /** Deliveries received, duplicates included. */
    received: () => received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export async function startWebhookArrivals(
  services: Services,
  merchantId: string,
  opts: { events: readonly EventType[]; tickIntervalMs: number },
): Promise<WebhookArrivals> {
  const receiver = await startArrivalReceiver();
  await createEndpoint(
    { sql: services.sql, secretBox: services.secretBox, urlCheck: { allowPrivate: true } },
    merchantId,
    { url: receiver.url, events: opts.events },
  );

  let ticking = true;
  const loop = (async () => {
    while (ticking) {
      const started = Date.now();
      await runWebhookTick(services, { budgetMs: opts.tickIntervalMs }).catch(() => {});
      await sleep(Math.max(0, opts.tickIntervalMs - (Date.now() - started)));
    }
  })();
  return {
    at: receiver.at,
    get received() {
      return receiver.received();
    },
    async stop() {
      ticking = false;
      await loop;
      await receiver.close();
    },
  };
}

/** Waits until every (invoice, type) has arrived or `timeoutMs` passes. */
export async function waitForArrivals(
  arrivals: WebhookArrivals,
  invoiceIds: readonly string[],
  type: EventType,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && invoiceIds.some((id) => arrivals.at(id, type) === undefined)) {
    await sleep(50);
  }
}
