// The command registry. To add commands, write a module under src/cli/ exporting a list of
// CliCommand and add it here (one import, one spread); names are the words typed after `alatau-pay`.
import { apiKeyCommands } from './apikey';
import { auditCommands } from './audit';
import { contractsCommands } from './contracts';
import { listCommands } from './lists';
import { merchantCommands } from './merchant';
import { migrateCommands } from './migrate';
import { regulatorCommands } from './regulator';
import type { CliCommand } from './types';
import { userCommands } from './user';

export const COMMAND_LIST: readonly CliCommand[] = [
  ...migrateCommands,
  ...merchantCommands,
  ...apiKeyCommands,
  ...auditCommands,
  ...regulatorCommands,
  ...listCommands,
  ...userCommands,
  ...contractsCommands,
];

export function buildRegistry(list: readonly CliCommand[]): ReadonlyMap<string, CliCommand> {
  const map = new Map<string, CliCommand>();
  for (const c of list) {
    if (!/^[a-z][a-z0-9-]*( [a-z][a-z0-9-]*)*$/.test(c.name)) throw new Error(`bad command name "${c.name}"`);
    if (map.has(c.name)) throw new Error(`command "${c.name}" is registered twice`);
    map.set(c.name, c);
  }
  return map;
}

export const commands: ReadonlyMap<string, CliCommand> = buildRegistry(COMMAND_LIST);
