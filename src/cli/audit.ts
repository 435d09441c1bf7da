// `audit verify`: re-computes the audit log's hash chain; a break is exit 1 naming the first bad entry.
import { verifyAuditChain } from '../audit/log';
import type { CliCommand } from './types';

const verify: CliCommand = {
  name: 'audit verify',
  summary: "Re-check the audit log's SHA-256 chain; names the first entry changed, removed or re-linked.",
  flags: {},
  async run(ctx) {
    const db = await ctx.db();
    const result = await verifyAuditChain(db.sql);
    if (result.ok) {
      ctx.print(`Audit log intact: ${result.entries} entries, head hash ${result.headHash}.`, result);
      return 0;
    }
    const at = result.brokenAt!;
    ctx.print(
      `Audit log BROKEN at entry ${at.id}: ${at.reason}.\n` +
        `  ${result.entries} entries before it verify; their head hash is ${result.headHash}.`,
      result,
    );
    return 1;
  },
};

export const auditCommands: readonly CliCommand[] = [verify];
