-- AML screening (SPEC section 7): sanctions lists with their versions, screenings, cases with
-- four-eyes decisions, FM-1 / IVMS101 reports, and the regulators who work them.
-- SQL that PostgreSQL 15 and PGlite (18) both run.

create table sanction_lists (
  id text primary key check (id ~ '^[a-z0-9][a-z0-9_.-]{0,63}$'),
  name text not null,
  source text not null check (source in ('ofac-sdn', 'plain', 'csv')),
  version integer not null default 0,
  version_label text,
  imported_at timestamptz,
  entry_count integer not null default 0,
  created_at timestamptz not null default now()
);

-- The current entries of each list; a re-import replaces them and records the difference below.
create table sanction_entries (
  list_id text not null references sanction_lists(id),
  -- Normalized (src/aml/lists/normalize.ts): EVM hex and bech32 lowercased, base58 exact.
  address text not null,
  asset text not null,
  kind text not null check (kind in ('evm', 'bech32', 'base58', 'other')),
  party_name text,
  programs text[] not null default '{}',
  source_id text,
  reason text,
  primary key (list_id, asset, address)
);
create index sanction_entries_address on sanction_entries (address);

create table sanction_list_versions (
  list_id text not null references sanction_lists(id),
  version integer not null,
  label text,
  imported_by text not null,
  imported_at timestamptz not null default now(),
  entry_count integer not null,
  added_count integer not null,
  removed_count integer not null,
  primary key (list_id, version)
);

create table sanction_list_changes (
  list_id text not null,
  version integer not null,
  change text not null check (change in ('added', 'removed')),
  address text not null,
  asset text not null,
  party_name text,
  foreign key (list_id, version) references sanction_list_versions (list_id, version)
);
create index sanction_list_changes_version on sanction_list_changes (list_id, version);

-- One counter for all lists: every process polls it and reloads its in-memory index when it moves
-- (LISTEN/NOTIFY is not delivered by the embedded database).
create table aml_state (
  singleton boolean primary key default true check (singleton),
  lists_version bigint not null default 0
);
insert into aml_state (singleton, lists_version) values (true, 0);

create table screenings (
  id bigserial primary key,
  subject text not null check (subject in ('payer', 'payment')),
  invoice_id text references invoices(id),
  payment_id text references payments(id),
  merchant_id text,
  network text not null,
  addresses text[] not null,
  amount_tiyn bigint not null,
  -- [{ screener, risk, reasons: [{ code, message }] }]
  results jsonb not null,
  risk text not null check (risk in ('none', 'low', 'medium', 'high', 'severe')),
  allowed boolean not null,
  created_at timestamptz not null default now()
);
create unique index screenings_payment on screenings (payment_id) where payment_id is not null;
create index screenings_invoice on screenings (invoice_id);

-- Structuring looks up a sender's recent payments by address.
create index payments_from_addresses on payments using gin (from_addresses);

create table regulators (
  id text primary key,
  name text not null check (length(name) between 1 and 200),
  email text not null check (length(email) between 3 and 320),
  -- scrypt$<logN>$<r>$<p>$<salt b64>$<hash b64>; null: API keys only, no console sign-in.
  password_hash text,
  failed_attempts integer not null default 0,
  locked_until timestamptz,
  created_at timestamptz not null default now(),
  disabled_at timestamptz
);
create unique index regulators_email on regulators (lower(email));

create table regulator_keys (
  id text primary key,
  regulator_id text not null references regulators(id),
  -- SHA-256 of the whole rk_… key; the key itself is never stored.
  key_hash bytea not null unique,
  prefix text not null,
  label text,
  created_at timestamptz not null default now(),
  last_used_at timestamptz,
  revoked_at timestamptz
);

create table regulator_sessions (
  -- SHA-256 of the cookie's token.
  token_hash bytea primary key,
  regulator_id text not null references regulators(id),
  csrf_token text not null,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null
);
create index regulator_sessions_expiry on regulator_sessions (expires_at);

create table aml_cases (
  id text primary key,
  invoice_id text not null references invoices(id),
  payment_id text references payments(id),
  merchant_id text not null references merchants(id),
  status text not null default 'open'
    check (status in ('open', 'cleared', 'escalated', 'reported', 'rejected')),
  risk text not null check (risk in ('none', 'low', 'medium', 'high', 'severe')),
  -- Whether this case keeps the invoice from settling (review: held).
  hold boolean not null,
  reasons jsonb not null default '[]',
  screening_id bigint references screenings(id),
  network text not null,
  asset text,
  addresses text[] not null default '{}',
  amount_tiyn bigint not null,
  due_at timestamptz not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  closed_at timestamptz
);
create unique index aml_cases_payment on aml_cases (payment_id) where payment_id is not null;
create index aml_cases_queue on aml_cases (status, due_at);
create index aml_cases_invoice on aml_cases (invoice_id);

create table case_decisions (
  id bigserial primary key,
  case_id text not null references aml_cases(id),
  regulator_id text not null references regulators(id),
  decision text not null check (decision in ('clear', 'escalate', 'report', 'reject')),
  reason text not null check (length(reason) between 1 and 2000),
  at timestamptz not null default now()
);
create index case_decisions_case on case_decisions (case_id, id);

create table aml_reports (
  id text primary key,
  case_id text not null references aml_cases(id),
  -- Why it is filed: threshold operation (FM-1 reason 1), suspicious (2), list match (4.x).
  kind text not null check (kind in ('threshold', 'suspicious', 'list_match')),
  reason_code text not null,
  status text not null default 'draft' check (status in ('draft', 'filed')),
  fm1_xml text not null,
  ivms101 jsonb not null,
  created_by text not null,
  due_at timestamptz not null,
  created_at timestamptz not null default now()
);
create index aml_reports_case on aml_reports (case_id);
