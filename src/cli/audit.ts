// `audit verify`: re-computes the audit log's hash chain and checks it against every signed checkpoint
// (exit 1 naming the first bad entry or checkpoint). `audit checkpoint`: signs the current head now.
import { readFileSync } from 'node:fs';
import {
  type AuditCheckpoint,
  createCheckpoint,
  parseCheckpointCopies,
  verifyCheckpoints,
} from '../audit/checkpoints';
import { resolveAuditKey } from '../audit/keyfile';
import { verifyAuditChain } from '../audit/log';
import { CliUsageError } from './args';
import type { CliCommand } from './types';

const verify: CliCommand = {
  name: 'audit verify',
  summary:
    "Re-check the audit log's SHA-256 chain and its signed checkpoints; names the first entry changed, removed or re-linked.",
  flags: {
    checkpoints: {
      kind: 'string',
      placeholder: 'FILE',
      description:
        'also check against checkpoints kept elsewhere (JSON from GET /v1/regulator/audit/checkpoints)',
    },
  },
  async run(ctx) {
    let copies: AuditCheckpoint[] = [];
    const file = ctx.flags.string('checkpoints');
    if (file !== undefined) {
      try {
        copies = parseCheckpointCopies(JSON.parse(readFileSync(file, 'utf8')));
      } catch (err) {
        throw new CliUsageError(`--checkpoints: ${(err as Error).message}`, '--checkpoints');
      }
    }
    const key = resolveAuditKey(ctx.config());
    const db = await ctx.db();
    const chain = await verifyAuditChain(db.sql);
    const checkpoints = await verifyCheckpoints(db.sql, key, copies);
    const ok = chain.ok && checkpoints.ok;
    const lines: string[] = [];
    if (!chain.ok) {
      const at = chain.brokenAt!;
      lines.push(
        `Audit log BROKEN at entry ${at.id}: ${at.reason}.`,
        `  ${chain.entries} entries before it verify; their head hash is ${chain.headHash}.`,
      );
    } else if (ok) {
      lines.push(`Audit log intact: ${chain.entries} entries, head hash ${chain.headHash}.`);
    } else {
      lines.push(`Audit chain links intact (${chain.entries} entries), but checkpoints contradict it:`);
    }
    if (checkpoints.keyMissing) {
      lines.push('  Checkpoints NOT checked: neither AUDIT_SIGNING_KEY nor AUDIT_PUBLIC_KEY is set.');
    } else if (checkpoints.failures.length === 0) {
      lines.push(
        `  Checkpoints: ${checkpoints.checked} checked, signed by ${key!.publicKeyHex}` +
          (checkpoints.latestSeq !== undefined ? `, newest at entry ${checkpoints.latestSeq}.` : '.'),
      );
      for (const k of checkpoints.keys ?? []) {
        if (!k.current)
          lines.push(`  Earlier key ${k.publicKey} (AUDIT_TRUSTED_PUBLIC_KEYS): ${k.checkpoints} signed.`);
      }
    } else {
      lines.push(`  Checkpoints: ${checkpoints.failures.length} of ${checkpoints.checked} FAIL:`);
      for (const f of checkpoints.failures.slice(0, 20)) {
        lines.push(`    entry ${f.seq} (signed ${f.signedAt}): ${f.problem}`);
      }
    }
    ctx.print(lines.join('\n'), { ...chain, ok, checkpoints });
    return ok ? 0 : 1;
  },
};

const checkpoint: CliCommand = {
  name: 'audit checkpoint',
  summary: "Sign the audit chain's head into a checkpoint now (the tick also does, periodically).",
  flags: {},
  async run(ctx) {
    const key = resolveAuditKey(ctx.config());
    if (!key?.secretKey) {
      throw new CliUsageError(
        'AUDIT_SIGNING_KEY is not set: export the Ed25519 key (64 hex digits, openssl rand -hex 32) that signs checkpoints',
      );
    }
    const db = await ctx.db();
    const result = (await createCheckpoint(db.sql, key))!;
    const c = result.checkpoint;
    ctx.print(
      `${result.created ? 'Checkpoint signed' : 'Head unchanged since the newest checkpoint'}: entry ${c.seq}, ` +
        `head hash ${c.headHash}, at ${c.signedAt}.\n  Public key (Ed25519): ${key.publicKeyHex}`,
      { ...c, created: result.created },
    );
    return 0;
  },
};

export const auditCommands: readonly CliCommand[] = [verify, checkpoint];
