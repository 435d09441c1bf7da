-- UTXO watchers (issue 4): the inputs of every transaction that pays a watched script, so that a
-- replacement (RBF) or a double spend is recognised when another transaction spends them; and the
-- indexes the watchers' per-tick queries need.

create table utxo_tx_inputs (
  network text not null,
  txid text not null,
  -- Spent outpoints as "txid:vout".
  outpoints text[] not null,
  created_at timestamptz not null default now(),
  primary key (network, txid)
);

-- Counted payments of a network, re-judged every tick until they are deep enough.
create index payments_network_counted on payments (network, confirmations)
  where status in ('seen', 'confirmed');

-- New invoices since the last look (the watched set is loaded incrementally).
create index invoices_created_at on invoices (created_at);
