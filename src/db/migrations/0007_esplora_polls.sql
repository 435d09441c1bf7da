-- Esplora polling (issue 4): public Esplora services rate-limit, so each watched address has its own
-- schedule and every process polling one service shares one request budget. Rows are claimed with
-- row locks, so two processes never poll the same address in the same window, and a restart picks
-- the schedule up where it was.

create table utxo_address_polls (
  network text not null,
  address text not null,
  -- The invoice the address belongs to (no foreign key: rows are dropped with the watched set).
  invoice_id text not null,
  -- The current interval; doubles while the invoice ages, back to the shortest while its page is open.
  interval_ms integer not null,
  next_poll_at timestamptz not null,
  last_polled_at timestamptz,
  polls integer not null default 0,
  -- Last time the invoice's checkout page asked for a check.
  checkout_seen_at timestamptz,
  primary key (network, address)
);
create index utxo_address_polls_due on utxo_address_polls (network, next_poll_at);
create index utxo_address_polls_invoice on utxo_address_polls (invoice_id);

-- A token bucket per Esplora service (its origin: networks served by one host share its limit).
create table esplora_budgets (
  name text primary key,
  -- May go below zero: requests beyond the reservation (history pages, statuses) are charged after.
  tokens double precision not null,
  refilled_at timestamptz not null,
  -- After a 429: nothing is sent to the service before this.
  blocked_until timestamptz,
  -- 429s in a row (doubles the block when the service gives no Retry-After).
  strikes integer not null default 0
);
