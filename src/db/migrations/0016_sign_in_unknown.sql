-- Sign-in attempts at emails that have no account able to sign in (none, disabled, or without a
-- password), counted and locked exactly as an account's are (src/auth/unknown.ts): otherwise, past
-- the lockout limit, a real email answers 423 while an unknown one keeps answering 401, and anyone
-- can tell which emails have accounts. One row per area and email; the email is kept only as a
-- SHA-256 digest of its lower-cased form, so the guesses themselves are not stored.
create table sign_in_unknown (
  -- 'dashboard_user' or 'regulator' (the area's audit kind).
  area text not null,
  email_digest text not null,
  failed_attempts integer not null,
  locked_until timestamptz,
  primary key (area, email_digest)
);
