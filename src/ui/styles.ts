// The stylesheet of the checkout and the dashboard, served by the gateway (/assets/ui.css): system
// fonts only (no font host), mobile first, text contrast of at least 4.5:1, a visible focus ring.
export const UI_CSS = `
:root {
  --bg: #f3f5f7; --card: #fff; --text: #1b1f24; --muted: #4a5560; --line: #d5dbe1;
  --primary: #0b5cad; --primary-dark: #084a8c; --ok: #0f6b3a; --ok-bg: #e6f4ec; --warn: #7a4300;
  --warn-bg: #fdf1e1; --err: #a4161a; --err-bg: #fbe9ea; --info-bg: #e8f0fa;
  --radius: 12px; --mono: ui-monospace, "SFMono-Regular", "DejaVu Sans Mono", Menlo, Consolas, monospace;
}
* { box-sizing: border-box; }
[hidden] { display: none !important; }
html { -webkit-text-size-adjust: 100%; }
body {
  margin: 0; background: var(--bg); color: var(--text); line-height: 1.5;
  font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "Liberation Sans", sans-serif;
}
a { color: var(--primary); }
a:hover { color: var(--primary-dark); }
:focus-visible { outline: 3px solid #f0a000; outline-offset: 2px; border-radius: 4px; }
h1, h2, h3 { line-height: 1.25; margin: 0 0 .5rem; }
code, .mono { font-family: var(--mono); font-size: .95em; overflow-wrap: anywhere; }
.sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0);
  white-space: nowrap; }
.skip { position: absolute; left: -999px; }
.skip:focus { left: 1rem; top: 1rem; background: #fff; padding: .5rem; z-index: 10; }
.button, button {
  display: inline-flex; align-items: center; justify-content: center; gap: .4rem; min-height: 44px;
  padding: .55rem 1rem; border-radius: 10px; border: 1px solid var(--primary); background: var(--primary);
  color: #fff; font: inherit; font-weight: 600; text-decoration: none; cursor: pointer;
}
.button:hover, button:hover { background: var(--primary-dark); color: #fff; }
.button.secondary, button.secondary { background: #fff; color: var(--primary); }
.button.secondary:hover, button.secondary:hover { background: var(--info-bg); color: var(--primary-dark); }
button.danger { background: #fff; color: var(--err); border-color: var(--err); }
button.danger:hover { background: var(--err-bg); color: var(--err); }
button:disabled { opacity: .6; cursor: progress; }
.small { font-size: .875rem; }
.muted { color: var(--muted); }

/* Checkout */
.checkout { max-width: 30rem; margin: 0 auto; padding: .75rem .75rem 2rem; }
.topbar { display: flex; justify-content: space-between; align-items: center; gap: .5rem; flex-wrap: wrap;
  padding: .25rem 0 .75rem; }
.brand { font-weight: 700; color: var(--muted); font-size: .9rem; letter-spacing: .02em; }
.langs { display: flex; gap: .25rem; list-style: none; margin: 0; padding: 0; }
.langs a { display: inline-block; padding: .3rem .6rem; border-radius: 8px; text-decoration: none;
  min-height: 32px; border: 1px solid transparent; }
.langs a[aria-current] { border-color: var(--line); background: var(--card); color: var(--text);
  font-weight: 600; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: var(--radius);
  padding: 1rem; margin-bottom: .75rem; }
.summary .merchant { margin: 0; color: var(--muted); }
.summary .amount { font-size: 2rem; font-weight: 700; margin: .1rem 0 .25rem; }
.summary .desc { margin: 0 0 .5rem; }
.countdown { display: flex; justify-content: space-between; align-items: baseline; margin: 0;
  border-top: 1px solid var(--line); padding-top: .5rem; }
.countdown time { font-family: var(--mono); font-size: 1.25rem; font-weight: 700; }
.countdown.urgent time { color: var(--err); }
.status { border-left: 6px solid var(--primary); background: var(--info-bg); }
.status h2 { font-size: 1.15rem; margin: 0 0 .25rem; }
.status p { margin: 0; }
.status[data-phase="paid"] { border-color: var(--ok); background: var(--ok-bg); }
.status[data-phase="seen"], .status[data-phase="confirming"], .status[data-phase="review"] {
  border-color: var(--ok); background: var(--ok-bg); }
.status[data-phase="partial"], .status[data-phase="late"] { border-color: var(--warn);
  background: var(--warn-bg); }
.status[data-phase="expired"], .status[data-phase="invalid"] { border-color: var(--err);
  background: var(--err-bg); }
.status .next { margin-top: .5rem; }
.tabs { display: flex; flex-wrap: wrap; gap: .4rem; margin: .25rem 0 .75rem; padding: 0; list-style: none; }
.tabs a { display: flex; flex-direction: column; min-width: 5.5rem; min-height: 44px; padding: .4rem .7rem;
  border: 1px solid var(--line); border-radius: 10px; text-decoration: none; color: var(--text);
  background: #fff; }
.tabs a small { color: var(--muted); font-size: .75rem; }
.tabs a[aria-current] { border: 2px solid var(--primary); background: var(--info-bg); font-weight: 700; }
.qr { display: block; width: min(100%, 16rem); margin: .25rem auto .75rem; }
.qr-code { display: block; width: 100%; height: auto; border-radius: 8px; }
.field { margin: 0 0 .75rem; }
.field dt { color: var(--muted); font-size: .875rem; }
.field dd { margin: .15rem 0 0; display: flex; gap: .5rem; align-items: center; flex-wrap: wrap; }
.field .value { flex: 1 1 12rem; padding: .45rem .6rem; border: 1px solid var(--line); border-radius: 8px;
  background: #f8fafb; font-family: var(--mono); overflow-wrap: anywhere; user-select: all; }
.field .value.amount { font-size: 1.1rem; font-weight: 700; }
.copy { min-height: 40px; padding: .35rem .75rem; font-size: .9rem; }
.actions { display: flex; flex-direction: column; gap: .5rem; margin: .5rem 0; }
.actions .or { text-align: center; }
.wallet-msg { margin: .25rem 0 0; padding: .5rem .75rem; border-radius: 8px; background: var(--info-bg); }
.wallet-msg.error { background: var(--err-bg); color: var(--err); }
.hint { font-size: .875rem; color: var(--muted); margin: .5rem 0 0; }
.payments { list-style: none; margin: 0; padding: 0; }
.payments li { padding: .5rem 0; border-top: 1px solid var(--line); display: flex;
  justify-content: space-between;
  gap: .5rem; flex-wrap: wrap; }
.payments li:first-child { border-top: 0; }
.payments .txid { flex-basis: 100%; color: var(--muted); overflow-wrap: anywhere; }
footer.note { text-align: center; color: var(--muted); font-size: .8rem; margin-top: 1rem; }
@media (min-width: 40rem) { .checkout { padding-top: 2rem; } .summary .amount { font-size: 2.4rem; } }

/* Dashboard */
.dash-top { background: #0d2235; color: #fff; }
.dash-top .inner { max-width: 72rem; margin: 0 auto; padding: .5rem 1rem; display: flex; flex-wrap: wrap;
  gap: .5rem 1.25rem; align-items: center; justify-content: space-between; }
.dash-top a { color: #fff; text-decoration: none; padding: .35rem .1rem;
  border-bottom: 2px solid transparent; }
.dash-top a[aria-current] { border-bottom-color: #f0a000; }
.dash-top nav { display: flex; flex-wrap: wrap; gap: .25rem 1rem; }
.dash-top .who { display: flex; gap: .75rem; align-items: center; font-size: .9rem; }
.dash-top .who button { min-height: 34px; padding: .2rem .7rem; background: transparent; border-color: #fff; }
.dash { max-width: 72rem; margin: 0 auto; padding: 1rem; }
.dash h1 { font-size: 1.5rem; margin: .5rem 0 1rem; }
.dash h2 { font-size: 1.15rem; margin: 1.25rem 0 .5rem; }
.grid { display: grid; gap: .75rem; grid-template-columns: repeat(auto-fit, minmax(12rem, 1fr)); }
.stat { background: #fff; border: 1px solid var(--line); border-radius: var(--radius); padding: .75rem 1rem; }
.stat b { display: block; font-size: 1.35rem; }
.table-wrap { overflow-x: auto; background: #fff; border: 1px solid var(--line);
  border-radius: var(--radius); }
table { border-collapse: collapse; width: 100%; font-size: .925rem; }
th, td { text-align: left; padding: .5rem .75rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: #f8fafb; font-weight: 600; white-space: nowrap; }
tr:last-child td { border-bottom: 0; }
td.num, th.num { text-align: right; white-space: nowrap; }
.badge { display: inline-block; padding: .05rem .5rem; border-radius: 999px; font-size: .8rem;
  font-weight: 600;
  border: 1px solid currentColor; white-space: nowrap; }
.badge.settled, .badge.succeeded, .badge.confirmed, .badge.released { color: var(--ok); }
.badge.processing, .badge.pending, .badge.seen, .badge.held { color: var(--warn); }
.badge.expired, .badge.invalid, .badge.failed, .badge.reorged, .badge.replaced, .badge.disabled,
.badge.rejected, .badge.revoked { color: var(--err); }
.badge.new { color: var(--primary); }
.badge.paid_partial, .badge.paid_late, .badge.paid_over { color: var(--warn); }
.badge.enabled, .badge.active { color: var(--ok); }
form.stack { display: grid; gap: .75rem; max-width: 36rem; }
form.stack > button { justify-self: start; }
.table-wrap + form, .table-wrap + .card, .card + form { margin-top: .75rem; }
figure { margin: 0; }
.card h2 { font-size: 1.15rem; }
form.inline { display: flex; flex-wrap: wrap; gap: .5rem; align-items: end; margin: 0 0 .75rem; }
label { display: grid; gap: .2rem; font-weight: 600; font-size: .925rem; }
label .help { font-weight: 400; color: var(--muted); font-size: .85rem; }
input, select, textarea { font: inherit; font-weight: 400; padding: .5rem .6rem; border: 1px solid #8a96a3;
  border-radius: 8px;
  min-height: 44px; background: #fff; color: var(--text); width: 100%; }
form.inline input, form.inline select { width: auto; }
fieldset { border: 1px solid var(--line); border-radius: 8px; padding: .5rem .75rem; }
legend { font-weight: 600; font-size: .925rem; padding: 0 .25rem; }
.checks { display: flex; flex-wrap: wrap; gap: .25rem 1rem; }
.checks label { display: flex; gap: .4rem; align-items: center; font-weight: 400; }
.checks input { width: auto; min-height: auto; }
.notice { padding: .75rem 1rem; border-radius: 8px; background: var(--ok-bg); color: var(--ok);
  margin: .5rem 0 1rem; }
.error { padding: .75rem 1rem; border-radius: 8px; background: var(--err-bg); color: var(--err);
  margin: .5rem 0 1rem; }
.error ul { margin: .25rem 0 0; padding-left: 1.25rem; }
.secret { padding: .75rem 1rem; border: 2px dashed var(--warn); border-radius: 8px;
  background: var(--warn-bg);
  margin: .5rem 0 1rem; }
.row-actions { display: flex; flex-wrap: wrap; gap: .5rem; }
.row-actions form { margin: 0; }
.secret code { font-size: 1rem; user-select: all; }
.timeline { list-style: none; margin: 0; padding: 0; border-left: 3px solid var(--line); }
.timeline li { position: relative; padding: .25rem 0 .75rem 1rem; }
.timeline li::before { content: ""; position: absolute; left: -8px; top: .55rem; width: 13px; height: 13px;
  border-radius: 50%; background: var(--primary); border: 2px solid #fff; }
.chart { width: 100%; height: auto; background: #fff; border: 1px solid var(--line);
  border-radius: var(--radius); }
.chart .bar { fill: var(--primary); }
.chart .axis { stroke: #8a96a3; stroke-width: 1; }
.chart text { fill: var(--muted); font-size: 11px; font-family: system-ui, sans-serif; }
.login { max-width: 24rem; margin: 3rem auto; }
.pager { display: flex; gap: .5rem; margin: .75rem 0; }
dl.kv { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; margin: 0; }
dl.kv dt { color: var(--muted); }
dl.kv dd { margin: 0; overflow-wrap: anywhere; }
`;
