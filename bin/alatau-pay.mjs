#!/usr/bin/env node
// `npx alatau-pay <command>`: runs src/cli.ts through tsx from any directory of the project. The
// embedded database defaults to the project's .data (as for `npm start`), not to the caller's cwd.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'package.json'));
const tsxCli = require.resolve('tsx/cli');
const env = { ...process.env };
if (!env.DATA_DIR) env.DATA_DIR = join(root, '.data');

const child = spawn(
  process.execPath,
  [tsxCli, '--tsconfig', join(root, 'tsconfig.json'), join(root, 'src', 'cli.ts'), ...process.argv.slice(2)],
  { stdio: 'inherit', env },
);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => child.kill(signal));
}
child.on('error', (err) => {
  console.error(`alatau-pay: could not start tsx: ${err.message}`);
  process.exit(1);
});
child.on('exit', (code, signal) => {
  if (signal) process.kill(process.pid, signal);
  else process.exit(code ?? 1);
});
