-- Signed checkpoints of the audit chain's head (SPEC section 7). The hash chain alone cannot show
-- that the newest entries were deleted, or that an entry was edited and every later hash recomputed:
-- a checkpoint is the head (entry id and hash) signed with an Ed25519 key kept outside the database,
-- so neither can be done without the key. Regulators fetch and keep their own copies, which also
-- survive a superuser deleting rows here.
create table audit_checkpoints (
  id bigserial primary key,
  -- The audit_log id of the head when signed (0: the empty chain) and that entry's hash.
  seq bigint not null check (seq >= 0),
  head_hash text not null,
  -- Millisecond ISO time, kept as text because it is part of the signed message.
  signed_at text not null,
  -- Hex Ed25519 public key and signature over the message in src/audit/checkpoints.ts.
  public_key text not null,
  signature text not null,
  created_at timestamptz not null default now()
);
create index audit_checkpoints_seq on audit_checkpoints (seq);

create function audit_checkpoints_append_only() returns trigger language plpgsql as $$
begin
  raise exception 'audit_checkpoints is append-only';
end;
$$;
create trigger audit_checkpoints_no_update before update or delete on audit_checkpoints
  for each row execute function audit_checkpoints_append_only();

-- TRUNCATE skips row triggers: refuse it too (audit_log has had this since 0001).
create trigger audit_checkpoints_no_truncate before truncate on audit_checkpoints
  for each statement execute function audit_checkpoints_append_only();
