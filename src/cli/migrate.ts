// `migrate`: applies pending SQL migrations (the server also does this at start).
import { migrate } from '../db/migrate';
import type { CliCommand } from './types';

const pad = (id: number) => String(id).padStart(4, '0');

const migrateCommand: CliCommand = {
  name: 'migrate',
  summary: 'Apply pending database migrations and print the ids applied.',
  flags: {},
  async run(ctx) {
    const db = await ctx.db({ migrate: false });
    const applied = await migrate(db.sql);
    const [row] = await db.sql<{ max: number | null }[]>`select max(id) as max from schema_migrations`;
    const current = row?.max == null ? null : Number(row.max);
    ctx.print(
      applied.length
        ? `Applied migrations ${applied.map(pad).join(', ')}; the schema is at ${pad(current ?? 0)}.`
        : `Nothing to apply; the schema is at ${current === null ? 'none' : pad(current)}.`,
      { applied, current },
    );
    return 0;
  },
};

export const migrateCommands: readonly CliCommand[] = [migrateCommand];
