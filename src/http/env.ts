// The typed contexts of the sub-apps. Every request carries the shared variables (set by createApp's
// first middleware); each area adds what its authentication puts there. A sub-app declares the Env
// it needs, so `c.get('principal')` is typed where merchant auth ran and missing where it did not.

import type { Principal } from '../merchants/apikeys';
import type { Merchant } from '../merchants/repository';
import type { RegulatorPrincipal } from '../regulator/accounts';
import type { Services } from '../services';

/** What every request has: its id and the services it runs on. */
export interface SharedVariables {
  requestId: string;
  services: Services;
}

/** The root app's context, and that of public sub-apps (probes, checkout, docs, pages' assets). */
export type BaseEnv = { Variables: SharedVariables };

/** The merchant API behind bearer auth (src/http/auth.ts merchantAuth). */
export type MerchantEnv = { Variables: SharedVariables & { principal: Principal; merchant: Merchant } };

/** The regulator API behind rk_ bearer auth (src/regulator/auth.ts). */
export type RegulatorEnv = { Variables: SharedVariables & { regulator: RegulatorPrincipal } };

/** A server-rendered area behind a sign-in session (src/auth/routes.tsx); S is its session. */
export type SessionEnv<S> = { Variables: SharedVariables & { session: S | undefined } };
