// What every console sub-app shares: its context (a signed-in regulator), the refusal page and the
// CSRF-checked form reader.
import type { Context } from 'hono';
import { type AreaEnv, checkedForm, sessionOf as sessionIn } from '../../auth/routes';
import { Page } from '../../ui/regulator/layout';
import type { RegulatorPrincipal } from '../accounts';

/** A console request: the shared variables and the regulator's session. */
export type ConsoleEnv = AreaEnv<RegulatorPrincipal>;
export type C = Context<ConsoleEnv>;

export const sessionOf = (c: C) => sessionIn(c);

export const RefusedPage = (props: { message: string }) => (
  <Page title="Refused">
    <p class="error" role="alert" id="csrf-error">
      {props.message}
    </p>
    <p>
      <a href="/regulator/cases">Back to the console</a>
    </p>
  </Page>
);

/** Every state-changing request needs the session's CSRF token in the form. */
export async function checkCsrf(
  c: C,
): Promise<{ ok: true; form: Record<string, string> } | { ok: false; res: Response | Promise<Response> }> {
  const form = await checkedForm(c, (message) => <RefusedPage message={message} />);
  if (form instanceof Response) return { ok: false, res: form };
  // The console's forms have no repeated fields: the first value of each.
  const first: Record<string, string> = {};
  for (const [k, v] of Object.entries(form)) first[k] = Array.isArray(v) ? (v[0] ?? '') : v;
  return { ok: true, form: first };
}
