-- The merchant dashboard: people who sign in for a merchant, and their sessions.
-- SQL that PostgreSQL 15 and PGlite (18) both run.

create table merchant_users (
  id text primary key,
  merchant_id text not null references merchants(id),
  email text not null check (length(email) between 3 and 320),
  -- scrypt$<logN>$<r>$<p>$<salt b64>$<hash b64> (a random salt per user).
  password_hash text not null,
  failed_attempts integer not null default 0,
  locked_until timestamptz,
  last_sign_in_at timestamptz,
  created_at timestamptz not null default now(),
  disabled_at timestamptz
);
-- One sign-in name across the gateway: the email alone says which merchant a person works for.
create unique index merchant_users_email on merchant_users (lower(email));
create index merchant_users_merchant on merchant_users (merchant_id);

create table merchant_sessions (
  -- SHA-256 of the cookie's token; the token itself is never stored.
  token_hash bytea primary key,
  user_id text not null references merchant_users(id),
  csrf_token text not null,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null
);
create index merchant_sessions_expiry on merchant_sessions (expires_at);
create index merchant_sessions_user on merchant_sessions (user_id);
