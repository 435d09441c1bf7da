// The console's stylesheet, served from /regulator/console.css (the CSP allows styles from 'self' only).
export const CONSOLE_CSS = `
:root { --fg:#1d2430; --muted:#5b6576; --line:#d9dee6; --bg:#f6f7f9; --accent:#0b5cad; --bad:#b42318;
  --warn:#b54708; --ok:#067647; font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
* { box-sizing: border-box; }
body { margin:0; color:var(--fg); background:var(--bg); font-size:15px; line-height:1.45; }
header.top { display:flex; align-items:center; justify-content:space-between; padding:10px 24px;
  background:#102a43; color:#fff; }
header.top a { color:#fff; text-decoration:none; margin-right:16px; }
header.top form { display:inline; }
header.top .brand { margin-right:24px; } header.top .who { margin-right:12px; }
td.num, th.num { text-align:right; font-variant-numeric:tabular-nums; white-space:nowrap; }
main { max-width:1200px; margin:24px auto; padding:0 24px; }
h1 { font-size:22px; margin:0 0 16px; } h2 { font-size:17px; margin:24px 0 8px; }
table { width:100%; border-collapse:collapse; background:#fff; border:1px solid var(--line); }
th, td { text-align:left; padding:8px 10px; border-bottom:1px solid var(--line); vertical-align:top; }
th { font-size:13px; color:var(--muted); font-weight:600; background:#fbfcfd; }
tr.overdue td { background:#fef3f2; }
.badge { display:inline-block; padding:1px 8px; border-radius:10px; font-size:12px; font-weight:600;
  background:#eef2f6; }
.risk-severe { background:#fee4e2; color:var(--bad); } .risk-high { background:#fef0c7; color:var(--warn); }
.risk-medium { background:#fef7c3; } .risk-low { background:#e0f2fe; }
.overdue-flag { color:var(--bad); font-weight:700; }
.card { background:#fff; border:1px solid var(--line); border-radius:6px; padding:16px; margin-bottom:16px; }
dl { display:grid; grid-template-columns: 200px 1fr; gap:6px 16px; margin:0; }
dt { color:var(--muted); } dd { margin:0; word-break:break-all; }
form.filters { display:flex; flex-wrap:wrap; gap:8px; align-items:end; margin-bottom:16px; }
label { display:flex; flex-direction:column; font-size:13px; color:var(--muted); gap:2px; }
input, select, textarea, button { font:inherit; padding:6px 8px; border:1px solid var(--line); border-radius:4px; }
textarea { width:100%; min-height:80px; }
button { background:var(--accent); color:#fff; border-color:var(--accent); cursor:pointer; }
button.secondary { background:#fff; color:var(--fg); border-color:var(--line); }
.error { background:#fef3f2; border:1px solid #fecdca; color:var(--bad); padding:10px 12px; border-radius:4px;
  margin-bottom:16px; }
.notice { background:#ecfdf3; border:1px solid #abefc6; color:var(--ok); padding:10px 12px; border-radius:4px;
  margin-bottom:16px; }
.login { max-width:380px; margin:80px auto; } .login form { display:flex; flex-direction:column; gap:12px; }
.muted { color:var(--muted); font-size:13px; }
ol.timeline { padding-left:18px; } ol.timeline li { margin-bottom:6px; }
.decisions { display:flex; gap:8px; flex-wrap:wrap; margin:8px 0; }
`;
