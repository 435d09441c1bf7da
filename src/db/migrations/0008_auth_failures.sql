-- Authentication failures per presented key and per client address (issue 8): a fixed window counter
-- per bucket, shared by every gateway process through this table, so a flood of bad keys is refused
-- with 429 whichever process it reaches.

create table auth_failures (
  -- 'key:<sha256 hex of the presented key>' or 'addr:<client address>'.
  bucket text primary key,
  window_start timestamptz not null,
  failures integer not null
);
create index auth_failures_window on auth_failures (window_start);
