import RampartHTTP
import RampartProxy
import RampartLoop
import RampartTransport
/// The dashboard's one inline script: plain modern JS, no framework. It polls the admin API every
/// 2 s with the token from `sessionStorage`, writes every value with `textContent` (never markup),
/// and handles clicks by delegation (the CSP refuses inline handlers). A section is redrawn only
/// when its data changed, so buttons stay put under the pointer between polls.
enum AdminDashboardScript {
    /// Helpers, the API client, sign-in, polling and the click handler; renderers come after.
    static let shell = #"""
    'use strict';
    (() => {
      const TOKEN_KEY = 'rampart.adminToken';
      const POLL_MS = 2000;
      const RATE_POINTS = 60;
      const $ = (id) => document.getElementById(id);
      const nf = new Intl.NumberFormat('en-US');
      let token = sessionStorage.getItem(TOKEN_KEY);
      let pollTimer = null;
      let configHash = null;
      let session = 0;          // bumped on sign-out: answers that arrive later are dropped
      const shown = new Map();  // section -> JSON of what it shows
      const rate = { last: null, points: [] };

      class SignedOut extends Error {}

      // ---- DOM helpers: values go in as text, never as markup ----
      function el(tag, className, text) {
        const e = document.createElement(tag);
        if (className) e.className = className;
        if (text !== undefined && text !== null) e.textContent = String(text);
        return e;
      }
      function cell(row, text, className) { const c = el('td', className, text); row.appendChild(c); return c; }
      function button(label, data, className) {
        const b = el('button', 'small' + (className ? ' ' + className : ''), label);
        b.type = 'button';
        for (const [k, v] of Object.entries(data)) b.dataset[k] = v;
        return b;
      }
      function fill(tableId, rows, emptyText) {
        const table = $(tableId);
        const body = table.tBodies[0];
        body.replaceChildren(...rows);
        if (rows.length === 0) {
          const tr = el('tr', 'empty');
          const td = el('td', null, emptyText);
          td.colSpan = table.tHead.rows[0].cells.length;
          tr.appendChild(td);
          body.appendChild(tr);
        }
      }
      function changed(name, data) {
        const text = JSON.stringify(data);
        if (shown.get(name) === text) return false;
        shown.set(name, text);
        return true;
      }
      function note(panelId, text) {
        const p = $(panelId).querySelector('.note');
        p.textContent = text || '';
        p.hidden = !text;
      }
      function notify(kind, text) {
        const n = $('notice');
        n.className = 'notice ' + kind;
        n.dataset.kind = kind;
        n.textContent = text;
        n.hidden = false;
      }
      function setLive(kind, text) {
        $('live').className = 'dot ' + kind;
        $('updated').textContent = text;
      }

      // ---- formatting ----
      function duration(s) {
        s = Math.max(0, Math.floor(s));
        const d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60);
        if (d) return d + 'd ' + h + 'h';
        if (h) return h + 'h ' + m + 'm';
        if (m) return m + 'm ' + (s % 60) + 's';
        return s + 's';
      }
      function clock(unix) {
        const t = new Date(unix * 1000);
        const today = new Date().toDateString() === t.toDateString();
        return today ? t.toLocaleTimeString() : t.toLocaleString();
      }
      function usd(v) { return '$' + (v || 0).toFixed(v && v < 1 ? 4 : 2); }
      function bytes(n) {
        if (n === null || n === undefined) return '–';
        return n < 1024 ? n + ' B' : n < 1048576 ? (n / 1024).toFixed(1) + ' kB' : (n / 1048576).toFixed(1) + ' MB';
      }
      function pathOf(name) { return name.split('/').map(encodeURIComponent).join('/'); }

      // ---- the admin API ----
      async function api(method, path) {
        const mine = session;
        let res;
        try {
          res = await fetch(path, { method, cache: 'no-store', credentials: 'omit',
                                    headers: { 'Authorization': 'Bearer ' + token } });
        } catch (e) {
          throw new Error('Cannot reach the admin API: ' + e.message);
        }
        if (mine !== session) throw new SignedOut();
        if (res.status === 401 || res.status === 403) {
          signOut(res.status === 403 ? 'That token was refused. Enter the admin token again.' : 'The admin API needs a token.');
          throw new SignedOut();
        }
        const type = res.headers.get('Content-Type') || '';
        const body = type.includes('json') ? await res.json().catch(() => null) : await res.text();
        return { status: res.status, ok: res.ok, body };
      }
      function failure(r) {
        return (r.body && r.body.error && r.body.error.message) || ('HTTP ' + r.status);
      }

      // ---- sign in and out ----
      function showLogin(message) {
        $('dashboard').hidden = true;
        $('signout').hidden = true;
        $('login').hidden = false;
        $('login-error').textContent = message || '';
        $('token').value = '';
        $('token').focus();
        setLive('', 'not connected');
      }
      function signOut(message) {
        session++;
        token = null;
        sessionStorage.removeItem(TOKEN_KEY);
        clearTimeout(pollTimer);
        pollTimer = null;
        shown.clear();
        configHash = null;
        rate.last = null;
        rate.points = [];
        showLogin(message);
      }
      function start() {
        $('login').hidden = true;
        $('dashboard').hidden = false;
        $('signout').hidden = false;
        $('notice').hidden = true;
        setLive('', 'connecting…');
        poll();
      }
      $('login-form').addEventListener('submit', (event) => {
        event.preventDefault();
        const value = $('token').value.trim();
        if (!value) return;
        token = value;
        sessionStorage.setItem(TOKEN_KEY, value);
        start();
      });
      $('signout').addEventListener('click', () => signOut(''));

      // ---- polling ----
      async function poll() {
        const mine = session;
        try {
          await refresh();
          if (mine !== session) return;
          $('banner').hidden = true;
          setLive('ok', 'live · ' + new Date().toLocaleTimeString());
        } catch (e) {
          if (e instanceof SignedOut || mine !== session) return;
          $('banner').textContent = String(e.message || e);
          $('banner').hidden = false;
          setLive('down', 'not reachable');
        }
        if (mine === session) pollTimer = setTimeout(poll, POLL_MS);
      }

      async function refresh() {
        const [status, breakers, saves, top, usage, servers] = await Promise.all([
          api('GET', '/admin/status'), api('GET', '/admin/breakers'), api('GET', '/admin/saves'),
          api('GET', '/admin/quotas/top?limit=10'), api('GET', '/admin/usage'), api('GET', '/admin/upstreams')]);
        renderStatus(status, saves);
        renderBreakers(breakers);
        renderServers(servers);
        renderSaves(saves);
        renderTop(top);
        renderUsage(usage);
        if (status.ok && status.body.config_hash !== configHash) {
          const config = await api('GET', '/admin/config');
          if (config.ok) configHash = status.body.config_hash;
          renderRoutes(config);
        }
      }

      // ---- actions (one delegated listener: the CSP forbids inline handlers) ----
      async function reloadSection(path, render) {
        shown.clear();
        const r = await api('GET', path);
        render(r);
      }
      async function act(b, method, path, describe, after) {
        b.disabled = true;
        try {
          const r = await api(method, path);
          const [kind, text] = describe(r);
          notify(kind, text);
          await after();
        } catch (e) {
          if (!(e instanceof SignedOut)) notify('error', String(e.message || e));
        } finally {
          b.disabled = false;
        }
      }
      document.addEventListener('click', (event) => {
        const b = event.target.closest('button[data-action]');
        if (!b || b.disabled) return;
        const d = b.dataset;
        if (d.action === 'breaker') {
          act(b, 'POST', '/admin/breakers/' + pathOf(d.name) + '/' + d.op,
              (r) => r.ok ? ['ok', 'Breaker ' + d.name + ' is ' + r.body.breaker.state.replace('_', '-')
                                    + (r.body.breaker.forced ? ' (forced)' : '') + '.']
                          : ['error', 'Breaker ' + d.name + ': ' + failure(r)],
              () => reloadSection('/admin/breakers', renderBreakers));
        } else if (d.action === 'server') {
          act(b, 'POST', '/admin/upstreams/' + pathOf(d.name) + '/servers/' + d.index + '/' + d.op,
              (r) => r.ok ? ['ok', 'Server ' + r.body.url + ' of ' + d.name + ' is ' + r.body.state + '.']
                          : ['error', 'Server ' + d.index + ' of ' + d.name + ': ' + failure(r)],
              () => reloadSection('/admin/upstreams', renderServers));
        } else if (d.action === 'replay') {
          act(b, 'POST', '/admin/saves/' + encodeURIComponent(d.id) + '/replay',
              (r) => r.ok && r.body.replayed
                ? ['ok', 'Replayed save ' + d.id + ': the app answered ' + r.body.upstream_status + '; it left the journal.']
                : ['error', 'Replay of ' + d.id + ' failed: ' + (r.body && r.body.upstream_status ? 'the app answered ' + r.body.upstream_status + '; it stays in the journal.' : failure(r))],
              () => reloadSection('/admin/saves', renderSaves));
        } else if (d.action === 'view') {
          // What the model wrote, for review before a replay: shown as text, never as markup.
          const row = b.closest('tr'), next = row.nextElementSibling;
          if (next && next.classList.contains('save-content')) { next.remove(); return; }
          api('GET', '/admin/saves/' + encodeURIComponent(d.id)).then((r) => {
            if (!r.ok) { notify('error', 'Save ' + d.id + ': ' + failure(r)); return; }
            const tr = el('tr', 'save-content'), td = el('td');
            td.colSpan = 7;
            td.appendChild(el('pre', 'mono', r.body.content || ''));
            tr.appendChild(td);
            row.after(tr);
          }).catch((e) => { if (!(e instanceof SignedOut)) notify('error', String(e.message || e)); });
        } else if (d.action === 'delete') {
          if (!window.confirm('Delete journaled save ' + d.id + '? Its content is lost for good.')) return;
          act(b, 'DELETE', '/admin/saves/' + encodeURIComponent(d.id),
              (r) => r.ok ? ['ok', 'Deleted save ' + d.id + '.'] : ['error', 'Delete of ' + d.id + ' failed: ' + failure(r)],
              () => reloadSection('/admin/saves', renderSaves));
        }
      });

      if (token) start(); else showLogin('');

    """#

    /// One script (one CSP hash): the shell above, the section renderers, and the closing of the
    /// function that keeps everything out of the global scope.
    static let source = shell + AdminDashboardSections.source + "})();\n"
}
