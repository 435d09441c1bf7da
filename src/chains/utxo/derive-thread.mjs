// The derivation thread's entry. Worker threads do not inherit tsx's loader (`npm start` runs under
// tsx), so this plain-JS file registers it before loading the TypeScript body.
import { register } from 'tsx/esm/api';

register();
await import('./derive-thread-body.ts');
