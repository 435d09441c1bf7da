import { CsrfField, Page } from './layout';

export function LoginPage(props: { csrf: string; error?: string | undefined; email?: string | undefined }) {
  return (
    <Page title="Sign in">
      <div class="login card">
        <h1>Regulator sign-in</h1>
        {props.error ? (
          <p class="error" role="alert" id="login-error">
            {props.error}
          </p>
        ) : null}
        <form method="post" action="/regulator/login">
          <CsrfField token={props.csrf} />
          <label>
            Email
            <input type="email" name="email" required autocomplete="username" value={props.email ?? ''} />
          </label>
          <label>
            Password
            <input type="password" name="password" required autocomplete="current-password" />
          </label>
          <button type="submit">Sign in</button>
        </form>
      </div>
    </Page>
  );
}
