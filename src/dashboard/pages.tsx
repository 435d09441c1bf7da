// What every dashboard sub-app shares: its context (a signed-in dashboard user), the refusal page,
// the CSRF-checked form reader, the notices the pages show after a redirect, and form errors.
import type { Context } from 'hono';
import type { Form } from '../auth/forms';
import { type AreaEnv, checkedForm as checkedFormIn, sessionOf as sessionIn } from '../auth/routes';
import { AppError, ValidationError } from '../lib/errors';
import { DashPage, type FormErrors } from '../ui/dashboard/layout';
import type { DashboardPrincipal } from './users';

/** A dashboard request: the shared variables and the user's session. */
export type DashboardEnv = AreaEnv<DashboardPrincipal>;
export type C = Context<DashboardEnv>;

export const sessionOf = (c: C) => sessionIn(c);
/** The audit actor of a dashboard action. */
export const actorOf = (c: C) => `user:${sessionOf(c).userId}`;

export const NOTICES: Record<string, string> = {
  created: 'The invoice is created. Send the payer its checkout link.',
  cancelled: 'The invoice is cancelled.',
  deleted: 'The endpoint is deleted: it receives nothing more.',
  redelivered: 'The delivery is queued to be sent again now.',
  revoked: 'The key is revoked: requests with it are refused from now on.',
  saved: 'The payment settings are saved. They apply to invoices created from now on.',
  key: 'The account key is saved, and its option is offered on new invoices.',
  payout: 'The payout address is saved.',
};

/** The notice named by `?done=` after a redirect, if any. */
export const noticeOf = (c: C): string | undefined => {
  const done = c.req.query('done');
  return done ? NOTICES[done] : undefined;
};

export const RefusedPage = (props: { message: string; status?: 403 | 404 }) => (
  <DashPage title={props.status === 404 ? 'Not found' : 'Refused'}>
    <p class="error" role="alert" id="refused">
      {props.message}
    </p>
    <p>
      <a href="/dashboard">Back to the dashboard</a>
    </p>
  </DashPage>
);

export function refused(c: C, message: string, status: 403 | 404 = 403) {
  c.status(status);
  return c.html(<RefusedPage message={message} status={status} />);
}

/** The form of a state-changing request, or the 403 page when its origin or CSRF token is wrong. */
export const checkedForm = (c: C): Promise<Form | Response> =>
  checkedFormIn(c, (message) => <RefusedPage message={message} />);

/** A domain refusal shown on the form (4xx); anything else goes to the error funnel. */
export const formError = (err: unknown): FormErrors | undefined => {
  if (err instanceof ValidationError) return { message: err.message, fields: err.errors };
  if (err instanceof AppError && err.status < 500) return { message: err.message };
  return undefined;
};
