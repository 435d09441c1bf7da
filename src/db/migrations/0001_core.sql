-- Core schema: merchants, keys, invoices with locked quotes, payments, derivation indexes,
-- the event outbox and the hash-chained audit log. SQL that PostgreSQL 15 and PGlite (18) both run.

create table merchants (
  id text primary key,
  name text not null check (length(name) between 1 and 200),
  bin text check (bin ~ '^[0-9]{12}$'),
  mode text not null check (mode in ('test', 'live')),
  speed_policy text not null default 'medium'
    check (speed_policy in ('high', 'medium', 'low-medium', 'low')),
  -- Basis points (1/100 of a percent): 50 = 0.5 %.
  payment_tolerance_bp integer not null default 0 check (payment_tolerance_bp between 0 and 10000),
  invoice_expiry_minutes integer not null default 15 check (invoice_expiry_minutes between 1 and 43200),
  monitoring_window_minutes integer not null default 1440 check (monitoring_window_minutes between 0 and 43200),
  enabled_options text[] not null default '{}',
  evm_payout_address text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

-- Watch-only account keys (xpub/zpub/tpub/vpub or an output descriptor) per network.
create table merchant_keys (
  merchant_id text not null references merchants(id),
  network text not null,
  key_text text not null,
  script_type text not null,
  first_address text not null,
  created_at timestamptz not null default now(),
  primary key (merchant_id, network)
);

-- The next derivation index per merchant key: handed out under a row lock, never twice.
create table derivation_indexes (
  merchant_id text not null,
  network text not null,
  next_index integer not null default 0 check (next_index >= 0),
  primary key (merchant_id, network),
  foreign key (merchant_id, network) references merchant_keys(merchant_id, network)
);

create table api_keys (
  id text primary key,
  merchant_id text not null references merchants(id),
  mode text not null check (mode in ('test', 'live')),
  -- SHA-256 of the whole key; the key itself is never stored.
  key_hash bytea not null unique,
  -- The first characters, so people can tell their keys apart.
  prefix text not null,
  label text,
  created_at timestamptz not null default now(),
  last_used_at timestamptz,
  revoked_at timestamptz
);
create index api_keys_merchant on api_keys (merchant_id);

create table invoices (
  id text primary key,
  merchant_id text not null references merchants(id),
  status text not null default 'new' check (status in ('new', 'processing', 'settled', 'expired', 'invalid')),
  additional_status text not null default 'none'
    check (additional_status in ('none', 'paid_partial', 'paid_over', 'paid_late')),
  review text not null default 'none' check (review in ('none', 'held', 'released', 'rejected')),
  amount_tiyn bigint not null check (amount_tiyn > 0),
  currency text not null default 'KZT',
  amount_paid_tiyn bigint not null default 0,
  order_id text,
  description text,
  metadata jsonb not null default '{}',
  redirect_url text,
  buyer_email text,
  -- Settings snapshotted at creation: a later settings change never alters an open invoice.
  speed_policy text not null,
  payment_tolerance_bp integer not null,
  cancelled boolean not null default false,
  expires_at timestamptz not null,
  monitoring_until timestamptz not null,
  settled_at timestamptz,
  -- Per-invoice event sequence so webhook receivers can order events.
  event_seq integer not null default 0,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index invoices_merchant_id on invoices (merchant_id, id desc);
create index invoices_merchant_status on invoices (merchant_id, status, id desc);
create index invoices_open_expiry on invoices (expires_at) where status = 'new';
create index invoices_order on invoices (merchant_id, order_id) where order_id is not null;

create table payment_options (
  invoice_id text not null references invoices(id),
  option text not null,
  asset text not null,
  network text not null,
  address text not null,
  amount_atomic numeric(78, 0) not null check (amount_atomic > 0),
  decimals integer not null,
  -- { kztPerUnit, at, chain, sources: [{ name, pair, value, at }] }
  rate jsonb not null,
  uri text not null,
  expires_at timestamptz not null,
  derivation_index integer,
  details jsonb not null default '{}',
  primary key (invoice_id, option)
);
-- One address belongs to one invoice on a network: payments to it are credited to that invoice only.
create unique index payment_options_address on payment_options (network, address);

create table payments (
  id text primary key,
  invoice_id text not null references invoices(id),
  option text not null,
  network text not null,
  txid text not null,
  -- UTXO: output index; EVM: log index (or -1 for a native transfer).
  output_index integer not null,
  from_addresses text[] not null default '{}',
  amount_atomic numeric(78, 0) not null check (amount_atomic > 0),
  amount_tiyn bigint not null,
  confirmations integer not null default 0,
  block_hash text,
  block_height bigint,
  rbf boolean not null default false,
  status text not null default 'seen' check (status in ('seen', 'confirmed', 'reorged', 'replaced')),
  seen_at timestamptz not null default now(),
  confirmed_at timestamptz,
  updated_at timestamptz not null default now(),
  -- The same output or log seen twice, by two watchers, after a restart or a re-scan, is one payment.
  unique (network, txid, output_index)
);
create index payments_invoice on payments (invoice_id);

create table idempotency_keys (
  merchant_id text not null references merchants(id),
  key text not null,
  request_hash text not null,
  state text not null check (state in ('in_flight', 'done')),
  response_status integer,
  response_body jsonb,
  created_at timestamptz not null default now(),
  primary key (merchant_id, key)
);

create table outbox (
  id bigserial primary key,
  event_id text not null unique,
  merchant_id text not null references merchants(id),
  invoice_id text references invoices(id),
  type text not null,
  seq integer not null default 0,
  payload jsonb not null,
  created_at timestamptz not null default now(),
  dispatched_at timestamptz
);
create index outbox_undispatched on outbox (id) where dispatched_at is null;

create table audit_log (
  id bigint primary key,
  at timestamptz not null,
  actor text not null,
  action text not null,
  subject text,
  data jsonb not null default '{}',
  prev_hash text not null,
  hash text not null
);

-- Append-only: updates and deletes are refused (a superuser can still disable the trigger,
-- which is why every entry is also chained by SHA-256 and `audit verify` re-checks the chain).
create function audit_log_append_only() returns trigger language plpgsql as $$
begin
  raise exception 'audit_log is append-only';
end;
$$;
create trigger audit_log_no_update before update or delete on audit_log
  for each row execute function audit_log_append_only();

-- Scanner cursors per network (and backend), and leases for singleton jobs across processes.
create table chain_cursors (
  name text primary key,
  cursor jsonb not null,
  updated_at timestamptz not null default now()
);

create table leases (
  name text primary key,
  holder text not null,
  expires_at timestamptz not null
);

create table settings (
  key text primary key,
  value jsonb not null,
  updated_at timestamptz not null default now()
);
create trigger audit_log_no_truncate before truncate on audit_log
  for each statement execute function audit_log_append_only();
