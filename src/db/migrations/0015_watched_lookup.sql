-- Every address the gateway ever issued stays watched (SPEC section 7), and there may be millions:
-- the watchers no longer hold them in memory but look up what a block (or a poll round) shows, one
-- indexed query per block or batch. `payment_options_address` (network, address, asset) already
-- serves look-ups by the address as issued (Esplora's polled addresses); these serve the rest.
-- Not partial: the planner takes a join's row estimates from an expression index's statistics only
-- when the index covers the whole table (without them it scans every option for a block's scripts).

-- UTXO blocks name outputs by script.
create index payment_options_script on payment_options (network, (details->>'scriptPubKey'));

-- EVM nodes print addresses in lower case; deposit addresses are stored checksummed.
create index payment_options_lower_address on payment_options (network, lower(address));

-- The router's InvoicePaid events name the invoice key.
create index payment_options_invoice_key on payment_options (network, (details->>'invoiceKey'));
