-- One watcher for every chain family (issue 15) and every issued address watched (issue 13):
--   - `invoice_accepts` is the one rule for "this invoice still takes money"; every query that
--     needs it calls it instead of repeating the status list;
--   - `watched_options` is every address the gateway ever issued, with what the watchers need;
--   - a payment to an address whose invoice no longer takes money is still recorded and screened,
--     as an unattributed payment of that invoice: it never counts towards the invoice's status.

create function invoice_accepts(status text, monitoring_until timestamptz, at timestamptz)
  returns boolean language sql immutable parallel safe
  as $$ select status in ('new', 'processing')
    or (status in ('expired', 'settled') and monitoring_until > at) $$;

create view watched_options as
  select po.network, po.invoice_id, i.merchant_id, po.option, po.asset, po.address, po.decimals,
    po.rate->>'kztPerUnit' as kzt_per_unit, po.details, i.created_at, i.status, i.monitoring_until
  from payment_options po join invoices i on i.id = po.invoice_id;

alter table payments add column unattributed boolean not null default false;
