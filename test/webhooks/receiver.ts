// A real HTTP webhook receiver on 127.0.0.1 for the delivery tests: records every request (headers and
// raw body), verifies each with the official `standardwebhooks` package against the secrets it is given,
// and answers as the test's handler says.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface ReceivedRequest {
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: string;
  readonly id: string;
  readonly attempt: number;
  /** For each secret the receiver knew at that time: did `standardwebhooks` accept the request? */
  readonly verified: ReadonlyMap<string, boolean>;
}

export type Answer =
  | { status: number; body?: string; headers?: Record<string, string> }
  /** Never answer (until the receiver closes). */
  | 'hang';

export interface Receiver {
  readonly url: string;
  readonly origin: string;
  readonly requests: ReceivedRequest[];
  /** Secrets to verify incoming requests with. */
  secrets: string[];
  handler: (req: ReceivedRequest, n: number) => Answer;
  close(): Promise<void>;
}

export async function startReceiver(
  handler: Receiver['handler'] = () => ({ status: 204 }),
  path = '/hooks',
): Promise<Receiver> {
  const hanging = new Set<ServerResponse>();
  const receiver: Receiver = {
    url: '',
    origin: '',
    requests: [],
    secrets: [],
    handler,
    close: async () => {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
    const verified = new Map<string, boolean>();
    for (const secret of receiver.secrets) {
      try {
        new Webhook(secret).verify(body, headers);
        verified.set(secret, true);
      } catch {
        verified.set(secret, false);
      }
    }
    const record: ReceivedRequest = {
      path: req.url ?? '',
      headers,
      body,
      id: headers['webhook-id'] ?? '',
      attempt: Number(headers['alatau-webhook-attempt'] ?? 0),
      verified,
    };
    receiver.requests.push(record);
    const answer = receiver.handler(record, receiver.requests.length);
    if (answer === 'hang') {
      hanging.add(res);
      return;
    }
    res.writeHead(answer.status, answer.headers);
    res.end(answer.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;
  return Object.assign(receiver, { origin, url: `${origin}${path}` });
}
