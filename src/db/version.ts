// The highest migration number this code expects. Workers cannot read the migrations folder, so
// /readyz compares against this; test/db/migrate.test.ts keeps it equal to the newest file.
export const LATEST_MIGRATION = 17;
