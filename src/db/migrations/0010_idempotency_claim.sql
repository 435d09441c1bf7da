-- Idempotency-Key fencing (issue 13 item 7): each claim of a key gets a fresh token; the statement that
-- stores the invoice marks the key done only under the token it was given, and stores the invoice only
-- when it did. A retry that takes over a key abandoned for over a minute changes the token, so the
-- original, if it was only slow, can no longer store a second invoice: exactly one wins.
alter table idempotency_keys add column claim text;
