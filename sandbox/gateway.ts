// Where `npm run sandbox:pay` finds the gateway: the way `npm start` serves it (PUBLIC_URL, else HOST
// and PORT, default http://127.0.0.1:8787), and a message naming that URL when nothing answers there.
import { loadConfig } from '../src/config';

export function gatewayUrl(env: Record<string, string | undefined> = process.env): string {
  try {
    return loadConfig(env).PUBLIC_URL;
  } catch {
    // An unrelated bad variable is `npm start`'s to report; the address is still worth trying.
    const host = env['HOST'] && env['HOST'] !== '0.0.0.0' ? env['HOST'] : '127.0.0.1';
    return (env['PUBLIC_URL'] || `http://${host}:${env['PORT'] || '8787'}`).replace(/\/+$/, '');
  }
}

/** fetch, with a refused or timed-out connection reported as the gateway not answering at its URL. */
export async function fetchGateway(f: typeof fetch, url: string, init?: RequestInit): Promise<Response> {
  try {
    return await f(url, { signal: AbortSignal.timeout(30_000), ...init });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    const origin = new URL(url).origin;
    throw new Error(
      `cannot reach the gateway at ${origin} (${cause}): is \`npm start\` running there? ` +
        'sandbox:pay finds it as npm start serves it: PUBLIC_URL, else PORT (default 8787)',
    );
  }
}
