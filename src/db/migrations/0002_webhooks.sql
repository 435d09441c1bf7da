-- Webhooks: merchants' endpoints (secrets encrypted at rest), one delivery per (endpoint, event) fanned
-- out from the outbox, and a log of every attempt. SQL that PostgreSQL 15 and PGlite (18) both run.

create table webhook_endpoints (
  id text primary key,
  merchant_id text not null references merchants(id),
  url text not null check (length(url) between 1 and 2000),
  -- Event types this endpoint receives; empty means every type.
  events text[] not null default '{}',
  -- AES-256-GCM ciphertexts (src/webhooks/secrets.ts), bound to this row's id; never the secret itself.
  -- Cleared when the endpoint is deleted.
  secret_ciphertext text,
  -- The secret before the last rotation keeps signing until previous_expires_at (overlap for receivers).
  previous_secret_ciphertext text,
  previous_expires_at timestamptz,
  disabled_at timestamptz,
  disabled_reason text,
  -- Deleted endpoints are kept (without secrets) so their delivery log stays consistent.
  deleted_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  check (deleted_at is not null or secret_ciphertext is not null),
  check ((previous_secret_ciphertext is null) = (previous_expires_at is null))
);
create index webhook_endpoints_merchant on webhook_endpoints (merchant_id, id) where deleted_at is null;

create table webhook_deliveries (
  id text primary key,
  endpoint_id text not null references webhook_endpoints(id),
  -- The outbox event id, sent as webhook-id: the same on every attempt so receivers can deduplicate.
  event_id text not null,
  merchant_id text not null references merchants(id),
  invoice_id text,
  type text not null,
  -- The exact JSON text that is sent and signed, fixed at fan-out so every attempt sends the same bytes.
  payload text not null,
  status text not null default 'pending' check (status in ('pending', 'succeeded', 'failed', 'disabled')),
  -- Attempts made so far; also the number of the latest attempt in webhook_attempts.
  attempt_count integer not null default 0 check (attempt_count >= 0),
  -- attempt_count when the current retry schedule began (0, or the count at the last redelivery).
  schedule_start integer not null default 0,
  -- When the next attempt is due; while an attempt is in flight, the end of its lease.
  next_attempt_at timestamptz,
  last_status integer,
  last_error text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (endpoint_id, event_id)
);
create index webhook_deliveries_due on webhook_deliveries (next_attempt_at) where status = 'pending';
create index webhook_deliveries_endpoint on webhook_deliveries (endpoint_id, id desc);

create table webhook_attempts (
  delivery_id text not null references webhook_deliveries(id),
  attempt integer not null check (attempt >= 1),
  started_at timestamptz not null,
  -- Null while the attempt is in flight (or its worker stopped before recording a result).
  finished_at timestamptz,
  duration_ms integer,
  http_status integer,
  -- Why the attempt failed without an HTTP answer (timeout, connection refused, refused URL, …).
  error text,
  -- The first kilobyte of the receiver's answer.
  response_excerpt text,
  primary key (delivery_id, attempt)
);
