-- Every tick deletes the idempotency keys older than a day (src/watch/tick.ts); without an index on
-- their age that is a scan of the whole table once a second.
create index idempotency_keys_created_at on idempotency_keys (created_at);
