/**
 * The dashboard's one HTML page: markup, inline CSS and the inline script of
 * dashboard-script.ts. A string constant rather than a file, so it is inside the
 * compiled binary and served without a file read; nothing on it loads from elsewhere,
 * so it works offline and under the strict CSP dashboard.ts sends.
 */
import { DASHBOARD_SCRIPT } from "./dashboard-script.ts";

const STYLE = `
:root { color-scheme: light; --fg: #1d232b; --muted: #667080; --line: #dde2e8; --bg: #f5f7fa; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
header.top { display: flex; flex-wrap: wrap; gap: 12px; align-items: center; padding: 10px 20px;
  background: #1d232b; color: #fff; }
header.top h1 { margin: 0; font-size: 18px; }
#meta { color: #c5ccd6; flex: 1; }
.live { padding: 2px 8px; border-radius: 10px; font-size: 12px; background: #555; }
.live.on { background: #29a36a; } .live.off { background: #e4572e; }
#token-form { display: flex; gap: 6px; align-items: center; }
#token-form input { width: 14em; padding: 3px 6px; }
#token-state { color: #c5ccd6; font-size: 12px; }
main { padding: 12px 20px; display: grid; grid-template-columns: minmax(0, 1fr) 260px; gap: 16px; }
h2 { font-size: 15px; margin: 8px 0; }
.notice { min-height: 0; }
.notice.error, .notice.ok { padding: 6px 10px; border-radius: 4px; margin-bottom: 8px; }
.notice.error { background: #fde8e4; color: #8a1f0b; border: 1px solid #f1b4a6; }
.notice.ok { background: #e3f5ec; color: #145c39; border: 1px solid #a8dcc0; }
#stale { color: #8a1f0b; }
table { border-collapse: collapse; width: 100%; background: #fff; }
th, td { text-align: left; padding: 4px 6px; border-bottom: 1px solid var(--line); white-space: nowrap; }
th { font-weight: 600; color: var(--muted); font-size: 12px; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.err { color: #8a1f0b; white-space: normal; min-width: 8em; max-width: 18em; font-size: 12px; }
section.pool { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px; margin-bottom: 14px;
  overflow-x: auto; }
section.pool header { display: flex; gap: 12px; align-items: baseline; }
section.pool h3 { margin: 0; font-size: 15px; }
.facts { color: var(--muted); }
.chart-box { position: relative; margin: 6px 0; }
.chart { display: block; background: #f8fafc; border: 1px solid var(--line); }
.chart-label { position: absolute; top: 2px; right: 6px; font-size: 11px; color: var(--muted); }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; }
.role { margin-left: 6px; font-size: 11px; color: var(--muted); }
.state { padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; }
.state.up { background: #e3f5ec; color: #145c39; }
.state.down { background: #fde8e4; color: #8a1f0b; }
.state.draining, .state.drained { background: #fff4d6; color: #7a5600; }
.state.ejected { background: #f1e4fb; color: #5b2a86; }
button { font: inherit; padding: 2px 10px; cursor: pointer; }
#events { list-style: none; margin: 0; padding: 0; font-size: 12px; }
#events li { padding: 3px 0; border-bottom: 1px solid var(--line); word-break: break-word; }
#events time { color: var(--muted); font-variant-numeric: tabular-nums; }
@media (max-width: 900px) { main { grid-template-columns: 1fr; } }
`;

/** The page with `nonce` on its style and script, which the CSP header names. */
export function dashboardPage(nonce: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>vane</title>
<link rel="icon" href="data:,">
<style nonce="${nonce}">${STYLE}</style>
</head>
<body>
<header class="top">
  <h1>vane</h1>
  <span id="meta">loading…</span>
  <span id="live" class="live">connecting</span>
  <form id="token-form" autocomplete="off">
    <label for="token">admin token</label>
    <input id="token" type="password" placeholder="Bearer token">
    <button type="submit">use</button>
    <button type="button" id="token-forget">forget</button>
    <span id="token-state"></span>
  </form>
</header>
<main>
  <div>
    <div id="notice" class="notice" role="alert"></div>
    <div id="stale" role="status"></div>
    <h2>Listeners</h2>
    <div id="listeners"></div>
    <h2>Pools</h2>
    <div id="pools"></div>
  </div>
  <aside>
    <h2>Events</h2>
    <ul id="events"></ul>
  </aside>
</main>
<script nonce="${nonce}">${DASHBOARD_SCRIPT}</script>
</body>
</html>
`;
}
