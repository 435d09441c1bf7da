// The dashboard sign-in form. Its CSRF token comes from a short-lived pre-session cookie.
import { DashPage } from './layout';

export function LoginPage(props: { csrf: string; error?: string | undefined; email?: string | undefined }) {
  return (
    <DashPage title="Sign in">
      <section class="card login">
        <h1>Merchant dashboard</h1>
        {props.error ? (
          <p class="error" role="alert" id="login-error">
            {props.error}
          </p>
        ) : null}
        <form method="post" action="/dashboard/login" class="stack">
          <input type="hidden" name="csrf" value={props.csrf} />
          <label>
            Email
            <input type="email" name="email" autocomplete="username" required value={props.email ?? ''} />
          </label>
          <label>
            Password
            <input type="password" name="password" autocomplete="current-password" required />
          </label>
          <button type="submit">Sign in</button>
        </form>
      </section>
    </DashPage>
  );
}
