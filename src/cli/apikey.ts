// `apikey create | revoke | list`: a merchant's API keys. The key itself is printed once at creation;
// only its hash is stored, so a lost key is revoked and replaced, never recovered.
import { appendAudit } from '../audit/log';
import { NotFoundError } from '../lib/errors';
import { createApiKey, type KeyMode, revokeApiKey } from '../merchants/apikeys';
import { getMerchant } from '../merchants/repository';
import { CliUsageError } from './args';
import { isoOrNone, table } from './output';
import type { CliCommand } from './types';
import { idFlag } from './validate';

export interface ApiKeyJson {
  id: string;
  merchantId: string;
  mode: KeyMode;
  prefix: string;
  label: string | null;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

const create: CliCommand = {
  name: 'apikey create',
  summary: "Create another API key for a merchant (in the merchant's mode); the key is shown once.",
  flags: {
    merchant: { kind: 'string', required: true, placeholder: 'mer_…', description: 'the merchant id' },
    label: { kind: 'string', placeholder: 'TEXT', description: 'a note to tell keys apart, e.g. "till 2"' },
  },
  async run(ctx) {
    const merchantId = idFlag(ctx.flags, 'merchant', 'mer');
    const label = ctx.flags.string('label');
    if (label !== undefined && (label.length === 0 || label.length > 100))
      throw new CliUsageError('--label must be 1 to 100 characters', '--label');
    const db = await ctx.db();
    const created = await db.sql.begin(async (tx) => {
      const m = await getMerchant(tx, merchantId);
      if (!m) throw new NotFoundError(`merchant ${merchantId}`);
      const key = await createApiKey(tx, merchantId, m.mode, label);
      await appendAudit(tx, {
        actor: 'cli',
        action: 'api_key.created',
        subject: merchantId,
        data: { apiKeyId: key.id, mode: key.mode, label: label ?? null },
      });
      return key;
    });
    ctx.print(
      `API key ${created.id} created for ${merchantId}${label ? ` ("${label}")` : ''}.\n` +
        `Shown once; store it now:\n  ${created.apiKey}`,
      {
        id: created.id,
        merchantId,
        mode: created.mode,
        prefix: created.prefix,
        label: label ?? null,
        apiKey: created.apiKey,
      },
    );
    return 0;
  },
};

const revoke: CliCommand = {
  name: 'apikey revoke',
  summary: 'Revoke an API key at once; requests with it get 401 api_key_revoked.',
  flags: { id: { kind: 'string', required: true, placeholder: 'key_…', description: 'the API key id' } },
  async run(ctx) {
    const id = idFlag(ctx.flags, 'id', 'key');
    const db = await ctx.db();
    const row = await db.sql.begin(async (tx) => {
      const [before] = await tx<{ merchant_id: string; revoked_at: Date | null }[]>`
        select merchant_id, revoked_at from api_keys where id = ${id} for update`;
      if (!before) throw new NotFoundError(`API key ${id}`, 'api_key_not_found');
      await revokeApiKey(tx, id);
      if (!before.revoked_at) {
        await appendAudit(tx, {
          actor: 'cli',
          action: 'api_key.revoked',
          subject: before.merchant_id,
          data: { apiKeyId: id },
        });
      }
      const [after] = await tx<{ revoked_at: Date }[]>`select revoked_at from api_keys where id = ${id}`;
      return {
        merchantId: before.merchant_id,
        already: before.revoked_at !== null,
        revokedAt: after!.revoked_at,
      };
    });
    ctx.print(
      row.already
        ? `${id} was already revoked (at ${isoOrNone(row.revokedAt)}).`
        : `Revoked ${id} of ${row.merchantId}.`,
      {
        id,
        merchantId: row.merchantId,
        revokedAt: new Date(row.revokedAt).toISOString(),
        alreadyRevoked: row.already,
      },
    );
    return 0;
  },
};

const list: CliCommand = {
  name: 'apikey list',
  summary: "List a merchant's API keys (prefix, label, last use, revocation); never the keys themselves.",
  flags: {
    merchant: { kind: 'string', required: true, placeholder: 'mer_…', description: 'the merchant id' },
  },
  async run(ctx) {
    const merchantId = idFlag(ctx.flags, 'merchant', 'mer');
    const db = await ctx.db();
    const [m] = await db.sql`select id from merchants where id = ${merchantId}`;
    if (!m) throw new NotFoundError(`merchant ${merchantId}`);
    const rows = await db.sql<
      {
        id: string;
        mode: KeyMode;
        prefix: string;
        label: string | null;
        created_at: Date;
        last_used_at: Date | null;
        revoked_at: Date | null;
      }[]
    >`select id, mode, prefix, label, created_at, last_used_at, revoked_at from api_keys
      where merchant_id = ${merchantId} order by created_at, id`;
    const keys: ApiKeyJson[] = rows.map((r) => ({
      id: r.id,
      merchantId,
      mode: r.mode,
      prefix: r.prefix,
      label: r.label,
      createdAt: new Date(r.created_at).toISOString(),
      lastUsedAt: r.last_used_at ? new Date(r.last_used_at).toISOString() : null,
      revokedAt: r.revoked_at ? new Date(r.revoked_at).toISOString() : null,
    }));
    const human = keys.length
      ? table(
          ['id', 'prefix', 'label', 'created', 'last used', 'status'],
          keys.map((k) => [
            k.id,
            `${k.prefix}…`,
            k.label ?? '-',
            k.createdAt,
            k.lastUsedAt ?? 'never',
            k.revokedAt ? `revoked ${k.revokedAt}` : 'active',
          ]),
        )
      : `${merchantId} has no API keys.`;
    ctx.print(human, { merchantId, keys });
    return 0;
  },
};

export const apiKeyCommands: readonly CliCommand[] = [create, revoke, list];
