// postinstall: guards postgres.js 3.4.9 against two upstream defects that a dropped database connection
// (pg_terminate_backend, a restart, a proxy's reset) turns into a dead gateway (issue 13 item 1;
// upstream porsager/postgres#1154, #1208, PR #1209):
// - a query sent on a reserved connection after its socket closed (a transaction's ROLLBACK after
//   the error) schedules a write that throws `Cannot read properties of null (reading 'write')`
//   from a setImmediate: an uncaught exception, so the process exits;
// - closing cancels the pending write but leaves its timer set and its bytes buffered, so when that
//   connection reconnects its startup message is never flushed: the pool slot hangs for good.
// - the array-type lookup that follows each connect is never awaited: a connection dropped during it
//   is an unhandled rejection.
// The patch rejects such a query with CONNECTION_CLOSED, clears the write state on close and
// catches the lookup's failure (the reconnect repeats it).
// Idempotent; checks each file and says what it did. Remove when upstream ships the fix.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const MARK = '/* alatau-pay: nextWrite guard */';
const EDITS = [
  [
    '  function nextWrite(fn) {\n    const x = socket.write(chunk, fn)',
    `  function nextWrite(fn) {\n    ${MARK}\n    if (!socket) {\n      nextWriteTimer !== null && clearImmediate(nextWriteTimer)\n      chunk = nextWriteTimer = null\n      error(Errors.connection('CONNECTION_CLOSED', options))\n      return false\n    }\n    const x = socket.write(chunk, fn)`,
  ],
  // The array-type lookup after connecting is not awaited by anyone: a connection dropped during it
  // was an unhandled rejection. Its close handler reconnects and looks the types up again.
  [
    '        return fetchArrayTypes()\n',
    '        return fetchArrayTypes().catch(() => { /* closed() reconnects and fetches again */ })\n',
  ],
  // terminate() and closed(): the cancelled write must not survive into the next connection.
  [
    '    clearImmediate(nextWriteTimer)\n    if (socket) {',
    '    clearImmediate(nextWriteTimer)\n    chunk = nextWriteTimer = null\n    if (socket) {',
  ],
  [
    "    clearImmediate(nextWriteTimer)\n    socket.removeListener('data', data)",
    "    clearImmediate(nextWriteTimer)\n    chunk = nextWriteTimer = null\n    socket.removeListener('data', data)",
  ],
];

let root;
try {
  // The package's exports hide package.json: resolve its entry and climb to the package root.
  root = dirname(createRequire(import.meta.url).resolve('postgres'));
  const isRoot = (dir) =>
    existsSync(join(dir, 'package.json')) &&
    JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).name === 'postgres';
  while (!isRoot(root) && dirname(root) !== root) root = dirname(root);
} catch {
  console.warn('patch-postgres: postgres is not installed; nothing to patch');
  process.exit(0);
}
for (const rel of ['src/connection.js', 'cjs/src/connection.js', 'cf/src/connection.js']) {
  const file = join(root, rel);
  if (!existsSync(file)) continue;
  let text = readFileSync(file, 'utf8');
  if (text.includes(MARK)) continue;
  const missing = EDITS.filter(([from]) => !text.includes(from));
  if (missing.length) {
    console.warn(`patch-postgres: ${rel} does not look like postgres.js 3.4.9; left as it is`);
    continue;
  }
  for (const [from, to] of EDITS) text = text.replace(from, to);
  writeFileSync(file, text);
  console.log(`patch-postgres: guarded ${rel}`);
}
