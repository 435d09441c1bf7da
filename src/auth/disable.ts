// Disabling an account of either sign-in area (a dashboard user, a regulator): one transaction that
// marks it disabled, ends every session it has and records it in the audit log once. Its sessions no
// longer load even if one were missed (both session stores join to the account's disabled_at).
import { appendAudit } from '../audit/log';
import type { Sql } from '../db/client';
import { NotFoundError, ValidationError } from '../lib/errors';
import { type IdPrefix, isId } from '../lib/ids';
import type { SessionStore } from './sessions';

/** What differs between the kinds of account: the table, the names, the session store. */
export interface DisableSpec<A> {
  readonly table: 'merchant_users' | 'regulators';
  readonly idPrefix: IdPrefix;
  /** 'dashboard user', 'regulator': in messages. */
  readonly noun: string;
  /** What its id is called: 'user' (`invalid user id`, `a user id such as usr_…`). */
  readonly idName: string;
  readonly notFoundCode: string;
  /** The audit action: `dashboard_user.disabled`. */
  readonly auditAction: string;
  readonly sessions: Pick<SessionStore<unknown>, 'endAll'>;
  // biome-ignore lint/suspicious/noExplicitAny: raw rows from postgres.js
  readonly fromRow: (row: Record<string, any>) => A;
}

export interface Disabled<A> {
  readonly account: A;
  readonly sessionsEnded: number;
  readonly alreadyDisabled: boolean;
}

export async function disableAccount<A>(
  sql: Sql,
  spec: DisableSpec<A>,
  id: string,
  actor = 'cli',
): Promise<Disabled<A>> {
  if (!isId(spec.idPrefix, id)) {
    throw new ValidationError(`invalid ${spec.idName} id`, [
      { path: 'id', message: `a ${spec.idName} id such as ${spec.idPrefix}_…` },
    ]);
  }
  const table = spec.table;
  return sql.begin(async (tx) => {
    const [before] = await tx`select disabled_at from ${tx(table)} where id = ${id} for update`;
    if (!before) throw new NotFoundError(`${spec.noun} ${id}`, spec.notFoundCode);
    const alreadyDisabled = before.disabled_at !== null;
    if (!alreadyDisabled) await tx`update ${tx(table)} set disabled_at = now() where id = ${id}`;
    const sessionsEnded = await spec.sessions.endAll(tx, id);
    if (!alreadyDisabled) {
      await appendAudit(tx, { actor, action: spec.auditAction, subject: id, data: { sessionsEnded } });
    }
    const [row] = await tx`select * from ${tx(table)} where id = ${id}`;
    return { account: spec.fromRow(row!), sessionsEnded, alreadyDisabled };
  });
}
