// A real anvil node per test file: started on a free 127.0.0.1 port, killed on stop(). The code lives
// in sandbox/anvil.ts, shared with `npm run sandbox`.
export {
  ANVIL_DEFAULT_CHAIN_ID,
  ANVIL_MNEMONIC,
  type Anvil,
  type AnvilOptions,
  anvilAccount,
  anvilBinary,
  revertTo,
  snapshot,
  startAnvil,
} from '../../sandbox/anvil';
