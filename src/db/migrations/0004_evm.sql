-- EVM payments (issue 3).
--
-- All options of one invoice on one EVM network share the invoice's deposit address (a CREATE2
-- forwarder that flushes the native coin and every listed token to the merchant), so an address is
-- unique per network and asset rather than per network. One address still belongs to one invoice:
-- UTXO networks have a single asset, and an EVM deposit address commits to the invoice id.
drop index payment_options_address;
create unique index payment_options_address on payment_options (network, address, asset);

-- Deposit addresses waiting to be swept to the merchant (DepositFactory.deployAndFlush). A payment to
-- the address makes it due; the sweep job sends one transaction per address and records it.
create table evm_sweeps (
  network text not null,
  address text not null,
  invoice_id text not null references invoices(id),
  -- bytes32 invoice key and payout address: the deployAndFlush arguments.
  invoice_key text not null,
  payout text not null,
  -- Due since (null: nothing known to sweep). Set again by every new deposit.
  due_at timestamptz,
  pending_txid text,
  pending_at timestamptz,
  attempts integer not null default 0,
  last_error text,
  last_txid text,
  swept_at timestamptz,
  updated_at timestamptz not null default now(),
  primary key (network, address)
);
create index evm_sweeps_due on evm_sweeps (network, due_at) where due_at is not null;
