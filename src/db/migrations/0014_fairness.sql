-- One merchant cannot slow, crowd out or block the others (issue 13 items 6, 9 and 10). SQL that
-- PostgreSQL 15 and PGlite (18) both run.

-- Fair webhook delivery (item 10): one merchant's endpoints that never answer must not take the
-- delivery slots every other merchant needs.

-- The circuit breaker of each endpoint (src/webhooks/breaker.ts), and when it was last served, so
-- claims go round-robin (least recently served first).
alter table webhook_endpoints
  add column consecutive_failures integer not null default 0,
  add column breaker_opens integer not null default 0,
  -- No delivery is claimed for the endpoint before this time: the breaker is open, or one probe
  -- delivery is in flight (probing).
  add column paused_until timestamptz,
  add column probing boolean not null default false,
  add column served_at timestamptz;

-- Set while an attempt is in flight (until its lease ends), cleared when its result is recorded: the
-- claims count a merchant's and an endpoint's deliveries in flight with it.
alter table webhook_deliveries add column leased_until timestamptz;

create index webhook_deliveries_in_flight on webhook_deliveries (merchant_id, endpoint_id)
  where leased_until is not null;
-- An endpoint's due deliveries, oldest first.
create index webhook_deliveries_endpoint_due on webhook_deliveries (endpoint_id, next_attempt_at)
  where status = 'pending';

-- Another merchant's account key cannot be registered (item 9): looked up by its first address.
create index merchant_keys_first_address on merchant_keys (network, first_address);

-- Request counters for public endpoints (item 6: checkout intents), shared by every gateway process:
-- one row per bucket (an invoice, a client address) and fixed window.
create table request_limits (
  bucket text primary key,
  window_start timestamptz not null,
  hits integer not null check (hits >= 0)
);
create index request_limits_window on request_limits (window_start);
