import RampartHTTP
import RampartProxy
import RampartLoop
import RampartTransport
/// The dashboard's markup and stylesheet (the script is in `AdminDashboardScript`). Static text
/// only: every value shown is put in by the script with `textContent`. No `style` attributes and no
/// `on…` handlers, which the page's CSP would refuse; the icon is inline SVG, the favicon `data:`.
enum AdminDashboardPage {
    static let head = """
    <!doctype html>
    <html lang="en">
    <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <meta name="referrer" content="no-referrer">
    <title>Rampart admin</title>
    <link rel="icon" href="data:,">

    """

    static let body = """
    <body>
    <header class="top">
      <div class="brand">
        <svg viewBox="0 0 24 24" aria-hidden="true"><path d="M12 2 4 5v6c0 5.2 3.4 9.6 8 11 4.6-1.4 8-5.8 8-11V5z" fill="#60a5fa"/><path d="m8.2 12.2 2.6 2.6 5-5.4" fill="none" stroke="#0f172a" stroke-width="2.2" stroke-linecap="round" stroke-linejoin="round"/></svg>
        <span>Rampart</span><span id="version" class="sub"></span>
      </div>
      <div class="conn">
        <span id="live" class="dot"></span><span id="updated">not connected</span>
        <button id="signout" class="ghost" type="button" hidden>Sign out</button>
      </div>
    </header>
    <main>
    <section id="login" class="panel login" hidden>
      <h2>Admin token</h2>
      <p class="muted">Enter the admin bearer token (the value of the environment variable named by
      <code>admin.token_env</code>). It stays in this tab's <code>sessionStorage</code> and is sent as
      <code>Authorization: Bearer</code> with every admin API call.</p>
      <form id="login-form" autocomplete="off">
        <input id="token" type="password" placeholder="Admin token" autocomplete="off" spellcheck="false" required>
        <button type="submit" id="connect">Connect</button>
      </form>
      <p id="login-error" class="error" role="alert"></p>
    </section>

    <div id="dashboard" hidden>
    <p id="banner" class="banner" role="alert" hidden></p>
    <p id="notice" class="notice" role="status" hidden></p>

    <section class="panel" id="status-panel">
      <h2>Status <span id="listeners" class="muted"></span></h2>
      <div class="tiles">
        <div class="tile"><div class="label">Uptime</div><div class="value" id="st-uptime">–</div></div>
        <div class="tile"><div class="label">Config hash</div><div class="value mono" id="st-hash">–</div></div>
        <div class="tile"><div class="label">Workers</div><div class="value" id="st-workers">–</div></div>
        <div class="tile"><div class="label">Connections</div><div class="value" id="st-connections">–</div></div>
        <div class="tile"><div class="label">In flight</div><div class="value" id="st-inflight">–</div></div>
        <div class="tile"><div class="label">Store</div><div class="value" id="st-store">–</div></div>
        <div class="tile"><div class="label">Serving</div><div class="value" id="st-draining">–</div></div>
        <div class="tile"><div class="label">Journaled saves</div><div class="value" id="st-journal">–</div></div>
      </div>
      <p class="note" hidden></p>
    </section>

    <div class="row">
      <div class="stack">
        <section class="panel rate" id="rate-panel">
          <h2>Live request rate <span id="rate-peak" class="muted"></span></h2>
          <div><span class="big" id="rate-now">–</span><span class="unit">req/s</span></div>
          <svg id="spark" viewBox="0 0 600 80" preserveAspectRatio="none" role="img" aria-label="Requests per second over the last 2 minutes">
            <polygon id="spark-area" class="spark-area" points=""/>
            <polyline id="spark-line" class="spark-line" points=""/>
            <polyline id="spark-errors" class="spark-errors" points=""/>
          </svg>
          <div class="legend"><span><i class="key req"></i>requests/s</span><span><i class="key err"></i>5xx/s <b id="rate-errors">–</b></span><span>total <b id="rate-total">–</b></span><span>every 2 s, last 2 min</span></div>
        </section>
        <section class="panel" id="breakers-panel">
          <h2>Circuit breakers</h2>
          <table id="breakers"><thead><tr><th>Upstream</th><th>State</th><th class="num">In a row</th><th class="num">Window</th><th>Force</th></tr></thead><tbody></tbody></table>
          <p class="note" hidden></p>
        </section>
      </div>
      <section class="panel" id="top-panel">
        <h2>Top callers by quota use <span id="top-scan" class="muted"></span></h2>
        <table id="top"><thead><tr><th>Caller</th><th>Route</th><th>Used</th><th>Window</th><th class="num">Left</th></tr></thead><tbody></tbody></table>
        <p class="note" hidden></p>
      </section>
      <section class="panel" id="servers-panel">
        <h2>Upstream servers</h2>
        <table id="servers"><thead><tr><th>Upstream</th><th>Server</th><th>State</th><th class="num">In flight</th><th class="num">Requests</th><th>Rotation</th></tr></thead><tbody></tbody></table>
        <p class="note" hidden></p>
      </section>
    </div>

    <section class="panel" id="saves-panel">
      <h2>Save journal <span id="saves-depth" class="muted"></span></h2>
      <table id="saves"><thead><tr><th>Save id</th><th>Route</th><th>User</th><th>Reason</th><th>Journaled</th><th class="num">Size</th><th>Actions</th></tr></thead><tbody></tbody></table>
      <p class="note" hidden></p>
    </section>

    <section class="panel" id="usage-panel">
      <h2>Usage and cost by model <span class="muted">this process</span></h2>
      <table id="usage"><thead><tr><th>Model</th><th class="num">Calls (24 h)</th><th class="num">Input tokens (24 h)</th><th class="num">Output tokens (24 h)</th><th class="num">Cost (1 h)</th><th class="num">Cost (24 h)</th><th class="num">Cost since start</th></tr></thead><tbody></tbody></table>
      <p class="note" hidden></p>
    </section>
    <section class="panel" id="routes-panel">
      <h2>Routes and quotas <span id="routes-count" class="muted"></span></h2>
      <table id="routes"><thead><tr><th>Route</th><th>Match</th><th>Upstream</th><th>Auth</th><th>Quotas</th><th>Policies</th></tr></thead><tbody></tbody></table>
      <p class="note" hidden></p>
    </section>

    </div>
    </main>

    """

    static let style = """
    :root{--bg:#f3f5f8;--panel:#fff;--ink:#1c2333;--muted:#667085;--line:#e4e7ec;--accent:#2f5fd8;--ok:#0f7a55;--okbg:#e3f5ec;--warn:#9a5b00;--warnbg:#fdf1dc;--bad:#bf2630;--badbg:#fdeaea;--mono:ui-monospace,SFMono-Regular,Menlo,Consolas,"DejaVu Sans Mono",monospace}
    *{box-sizing:border-box}
    [hidden]{display:none!important}
    html{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:var(--ink);background:var(--bg)}
    body{margin:0}
    header.top{display:flex;align-items:center;justify-content:space-between;padding:11px 24px;background:#0f172a;color:#f8fafc}
    .brand{display:flex;align-items:center;gap:9px;font-weight:650;font-size:17px}
    .brand svg{width:22px;height:22px}
    .brand .sub{color:#94a3b8;font-weight:400;font-size:13px}
    .conn{display:flex;align-items:center;gap:10px;font-size:13px;color:#cbd5e1}
    .dot{width:9px;height:9px;border-radius:50%;background:#64748b}
    .dot.ok{background:#34d399;box-shadow:0 0 0 3px rgba(52,211,153,.25)}
    .dot.down{background:#f87171}
    main{max-width:1380px;margin:0 auto;padding:18px 24px 40px}
    .panel{background:var(--panel);border:1px solid var(--line);border-radius:10px;padding:14px 16px;margin-bottom:16px;min-width:0;overflow-x:auto}
    .panel h2{font-size:12px;text-transform:uppercase;letter-spacing:.06em;color:var(--muted);margin:0 0 10px;font-weight:650;display:flex;justify-content:space-between;align-items:baseline;gap:12px}
    .panel h2 .muted{text-transform:none;letter-spacing:0;font-weight:400}
    .row{display:grid;grid-template-columns:1fr 1fr;gap:16px;align-items:start}
    .stack{min-width:0}
    .tiles{display:grid;grid-template-columns:repeat(8,1fr);gap:10px}
    @media (max-width:1100px){.row{grid-template-columns:1fr}.tiles{grid-template-columns:repeat(4,1fr)}}
    .tile{border:1px solid var(--line);border-radius:8px;padding:8px 11px;min-width:0}
    .tile .label{font-size:11px;text-transform:uppercase;letter-spacing:.05em;color:var(--muted)}
    .tile .value{font-size:19px;font-weight:600;margin-top:2px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
    .tile .value.mono{font-family:var(--mono);font-size:16px}
    .tile .value.good{color:var(--ok)}
    .tile .value.bad{color:var(--bad)}
    table{width:100%;border-collapse:collapse}
    th{text-align:left;font-size:11px;text-transform:uppercase;letter-spacing:.05em;color:var(--muted);font-weight:600;padding:6px 8px;border-bottom:1px solid var(--line);white-space:nowrap}
    td{padding:7px 8px;border-bottom:1px solid var(--line);vertical-align:middle}
    tbody tr:last-child td{border-bottom:none}
    .num{text-align:right;font-variant-numeric:tabular-nums}
    .mono{font-family:var(--mono);font-size:12.5px}
    td.mono,td.nowrap{white-space:nowrap}
    tr.empty td{color:var(--muted);text-align:center;padding:14px}
    tr.total td{font-weight:650;border-top:2px solid var(--line)}
    .badge{display:inline-block;padding:1px 9px;border-radius:999px;font-size:12px;font-weight:650}
    .state-closed{background:var(--okbg);color:var(--ok)}
    .state-open{background:var(--badbg);color:var(--bad)}
    .state-half_open{background:var(--warnbg);color:var(--warn)}
    .tag{display:inline-block;margin-left:6px;font-size:11px;color:var(--muted);border:1px solid var(--line);border-radius:4px;padding:0 5px}
    .chip{display:inline-block;padding:1px 7px;margin:1px 4px 1px 0;border-radius:5px;background:#eef2ff;color:#3730a3;font-size:12px;white-space:nowrap}
    .chip.quota{background:#ecfdf3;color:#05603a}
    button{font:inherit;font-size:13px;padding:6px 14px;border-radius:6px;border:1px solid var(--accent);background:var(--accent);color:#fff;cursor:pointer}
    button.small{padding:2px 10px;font-size:12px;background:#fff;color:var(--ink);border-color:#cfd4dc;margin:1px 4px 1px 0}
    button.small:hover{border-color:var(--accent);color:var(--accent)}
    button.small.danger{color:var(--bad);border-color:#f0b3b3}
    button.ghost{background:transparent;border-color:#475569;color:#e2e8f0;padding:3px 10px;font-size:12px}
    button:disabled{opacity:.5;cursor:default}
    .notice,.banner{padding:10px 14px;border-radius:8px;margin:0 0 16px;font-weight:500}
    .notice.ok{background:var(--okbg);color:var(--ok);border:1px solid #a6e3c5}
    .notice.error,.banner{background:var(--badbg);color:var(--bad);border:1px solid #f0b3b3}
    .note{color:var(--bad);margin:8px 0 0;font-size:13px}
    .muted{color:var(--muted)}
    .login{max-width:540px;margin:60px auto}
    .login form{display:flex;gap:8px;margin-top:12px}
    .login input{flex:1;font:inherit;padding:7px 10px;border:1px solid #cfd4dc;border-radius:6px}
    .error{color:var(--bad);min-height:1.2em;margin:10px 0 0}
    code{font-family:var(--mono);font-size:12.5px;background:#f2f4f7;padding:0 4px;border-radius:4px}
    .rate .big{font-size:30px;font-weight:650;font-variant-numeric:tabular-nums}
    .rate .unit{color:var(--muted);margin-left:5px}
    .rate svg{width:100%;height:96px;display:block;margin-top:6px;border-bottom:1px solid var(--line)}
    .spark-area{fill:rgba(47,95,216,.12);stroke:none}
    .spark-line{fill:none;stroke:var(--accent);stroke-width:2;vector-effect:non-scaling-stroke}
    .spark-errors{fill:none;stroke:var(--bad);stroke-width:1.5;vector-effect:non-scaling-stroke}
    .legend{display:flex;flex-wrap:wrap;gap:14px;font-size:12px;color:var(--muted);margin-top:6px}
    .legend .key{display:inline-block;width:10px;height:3px;margin-right:5px;vertical-align:middle}
    .legend .key.req{background:var(--accent)}
    .legend .key.err{background:var(--bad)}
    meter{width:110px;height:10px;vertical-align:middle;margin-right:8px}
    """
}
