// Leases: a named job runs on one process at a time across every process sharing the database
// (a row in `leases`, taken when free or expired, renewed by its holder). They save double work;
// correctness never depends on them — the payment key and the invoice row locks already make two
// concurrent runs safe. Expiry uses the database clock, so processes need not agree on the time.
import type { Queryable } from '../db/client';

/** Takes or renews the lease; false when another holder has it and it has not expired. */
export async function tryAcquireLease(
  sql: Queryable,
  name: string,
  holder: string,
  ttlMs: number,
): Promise<boolean> {
  const rows = await sql`insert into leases (name, holder, expires_at)
    values (${name}, ${holder}, now() + ${ttlMs} * interval '1 millisecond')
    on conflict (name) do update set holder = excluded.holder, expires_at = excluded.expires_at
    where leases.holder = excluded.holder or leases.expires_at <= now()
    returning holder`;
  return rows.length === 1;
}

/** Gives the lease up (only if still ours) so another process can take over at once. */
export async function releaseLease(sql: Queryable, name: string, holder: string): Promise<void> {
  await sql`delete from leases where name = ${name} and holder = ${holder}`;
}
