// A small structured logger (JSON lines). Known secret shapes are redacted before anything is
// written: API keys, webhook secrets and passwords never reach a log line.
export type Level = 'debug' | 'info' | 'warn' | 'error' | 'silent';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 };

export interface Logger {
  debug(msg: string, ctx?: Record<string, unknown>): void;
  info(msg: string, ctx?: Record<string, unknown>): void;
  warn(msg: string, ctx?: Record<string, unknown>): void;
  error(msg: string, ctx?: Record<string, unknown>): void;
}

// Each pattern's first group is the non-secret label that stays ("sk_test_", "whsec_", the URL up to
// the password); everything after it goes, so no character of a secret reaches a log line.
const SECRET_PATTERNS = [
  /(sk_(?:test|live)_)[1-9A-HJ-NP-Za-km-z]+/g,
  /(rk_)[1-9A-HJ-NP-Za-km-z]{20,}/g,
  /(whsec_)[A-Za-z0-9+/=]+/g,
  /([xtuvyz]prv)[1-9A-HJ-NP-Za-km-z]{100,}/g,
  /(postgres(?:ql)?:\/\/[^:/@\s]+:)[^@\s]+@/g,
];
const SECRET_KEYS = /pass(word)?|secret|api_?key|authorization|cookie|token|private|mnemonic|seed/i;

// RPC URLs carry provider keys in their user:pass, path (Infura's /v3/<key>, Alchemy's /v2/<key>)
// or query (?apikey=): a URL keeps its scheme and host only.
const URL_WITH_SECRETS = /\b((?:https?|wss?):\/\/)(?:[^\s/@"']*@)?([^\s/?#"':@]+(?::\d+)?)[^\s"']*/g;

export function redact(s: string): string {
  let out = s.replace(URL_WITH_SECRETS, (m, scheme: string, host: string) =>
    m === `${scheme}${host}` || m === `${scheme}${host}/` ? m : `${scheme}${host}/***`,
  );
  for (const re of SECRET_PATTERNS)
    out = out.replace(re, (_m, label: string) =>
      label.startsWith('postgres') ? `${label}***@` : `${label}***`,
    );
  return out;
}

function serialise(v: unknown, depth = 0): unknown {
  if (depth > 4) return '[deep]';
  if (v instanceof Error) {
    return {
      name: v.name,
      message: redact(v.message),
      ...(v.cause ? { cause: serialise(v.cause, depth + 1) } : {}),
      stack: v.stack?.split('\n').slice(0, 6).map(redact).join('\n'),
    };
  }
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'string') return redact(v);
  if (Array.isArray(v)) return v.map((x) => serialise(x, depth + 1));
  if (v && typeof v === 'object') {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) o[k] = SECRET_KEYS.test(k) ? '***' : serialise(x, depth + 1);
    return o;
  }
  return v;
}

export function createLogger(
  level: Level = 'info',
  write: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
): Logger {
  const log = (lvl: Level, msg: string, ctx?: Record<string, unknown>) => {
    if (ORDER[lvl] < ORDER[level]) return;
    write(
      JSON.stringify({
        t: new Date().toISOString(),
        level: lvl,
        msg: redact(msg),
        ...(ctx ? (serialise(ctx) as object) : {}),
      }),
    );
  };
  return {
    debug: (m, c) => log('debug', m, c),
    info: (m, c) => log('info', m, c),
    warn: (m, c) => log('warn', m, c),
    error: (m, c) => log('error', m, c),
  };
}

export const silentLogger: Logger = createLogger('silent');
