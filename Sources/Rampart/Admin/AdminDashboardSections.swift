import RampartHTTP
import RampartProxy
import RampartLoop
import RampartTransport
/// The dashboard's section renderers, part of the one inline script (`AdminDashboardScript`):
/// each takes an admin API answer and writes it into its table or tiles with `textContent`,
/// skipping the redraw when the data did not change.
enum AdminDashboardSections {
    static let source = #"""
      // ---- sections ----
      function renderStatus(r, saves) {
        if (!r.ok) { note('status-panel', 'Status: ' + failure(r)); return; }
        note('status-panel', '');
        const s = r.body;
        $('version').textContent = 'v' + s.version;
        $('listeners').textContent = 'main ' + (s.listeners.main || '–') + ' · admin ' + (s.listeners.admin || '–');
        $('st-uptime').textContent = duration(s.uptime_seconds);
        $('st-hash').textContent = String(s.config_hash).slice(0, 12);
        $('st-hash').title = s.config_hash + '\n' + s.config_path;
        $('st-workers').textContent = s.workers;
        $('st-connections').textContent = nf.format(s.connections);
        $('st-inflight').textContent = nf.format(s.in_flight);
        const store = $('st-store');
        store.textContent = s.store.kind + (s.store.healthy ? '' : ' down');
        store.className = 'value ' + (s.store.healthy ? 'good' : 'bad');
        store.title = s.store.healthy ? 'reachable' : (s.store.last_error || 'unreachable');
        const serving = $('st-draining');
        serving.textContent = s.draining ? 'draining' : 'yes';
        serving.className = 'value ' + (s.draining ? 'bad' : 'good');
        $('st-journal').textContent = saves.ok ? nf.format(saves.body.depth) : '–';
        recordRate(s.requests_total, s.requests_by_class || {});
      }

      function recordRate(total, byClass) {
        const now = performance.now();
        const errors = byClass['5xx'] || 0;
        if (rate.last) {
          const dt = (now - rate.last.at) / 1000;
          if (dt > 0.2) {
            rate.points.push({ rps: Math.max(0, (total - rate.last.total) / dt), eps: Math.max(0, (errors - rate.last.errors) / dt) });
            if (rate.points.length > RATE_POINTS) rate.points.shift();
          }
        }
        rate.last = { at: now, total, errors };
        const p = rate.points;
        const current = p.length ? p[p.length - 1] : null;
        $('rate-now').textContent = current ? current.rps.toFixed(current.rps < 10 ? 1 : 0) : '–';
        $('rate-errors').textContent = current ? current.eps.toFixed(1) : '–';
        $('rate-total').textContent = nf.format(total);
        const peak = Math.max(0, ...p.map((x) => x.rps));
        $('rate-peak').textContent = p.length ? 'peak ' + peak.toFixed(1) + '/s' : '';
        const W = 600, H = 80, top = Math.max(1, peak * 1.1);
        const x = (i) => (W * (i + RATE_POINTS - p.length) / (RATE_POINTS - 1)).toFixed(1);
        const y = (v) => (H - 1 - (H - 4) * v / top).toFixed(1);
        const line = p.map((pt, i) => x(i) + ',' + y(pt.rps)).join(' ');
        $('spark-line').setAttribute('points', line);
        $('spark-area').setAttribute('points', p.length > 1 ? x(0) + ',' + H + ' ' + line + ' ' + x(p.length - 1) + ',' + H : '');
        $('spark-errors').setAttribute('points', p.map((pt, i) => x(i) + ',' + y(pt.eps)).join(' '));
      }

      function renderRoutes(r) {
        if (!r.ok) { note('routes-panel', 'Config: ' + failure(r)); return; }
        note('routes-panel', '');
        const routes = Array.isArray(r.body.routes) ? r.body.routes : [];
        $('routes-count').textContent = routes.length + (routes.length === 1 ? ' route' : ' routes') + ', first match wins';
        const upstreams = Object.keys(r.body.upstreams || {});
        fill('routes', routes.map((route) => {
          const tr = el('tr');
          tr.dataset.route = route.name;
          cell(tr, route.name, 'mono');
          const m = route.match || {};
          const where = m.path !== undefined ? m.path : (m.path_prefix !== undefined ? m.path_prefix + '*' : '*');
          cell(tr, (m.methods ? m.methods.join(',') + ' ' : '') + where, 'mono');
          cell(tr, route.upstream || (upstreams.length === 1 ? upstreams[0] : '–'));
          cell(tr, route.auth || 'optional');
          const quotas = cell(tr, null);
          for (const q of route.quotas || []) quotas.appendChild(el('span', 'chip quota', q.limit + (q.unit === 'tokens' ? ' ' + (q.tokens && q.tokens !== 'total' ? q.tokens + ' ' : '') + 'tokens' : '') + ' / ' + q.per + ' per ' + (q.key || 'user')));
          if (!(route.quotas || []).length) quotas.appendChild(el('span', 'muted', 'none'));
          const policies = cell(tr, null);
          const names = { stream_save: 'confirmed save', truncate: 'truncate', idempotency: 'idempotency', validate: 'validate',
                          circuit_breaker: 'own breaker', retry: 'retry', timeouts: 'timeouts', body_limit: 'body limit', headers: 'headers' };
          for (const [key, label] of Object.entries(names)) if (route[key] !== undefined) policies.appendChild(el('span', 'chip', label));
          if (route.scrub_errors === false) policies.appendChild(el('span', 'chip', 'errors unscrubbed'));
          return tr;
        }), 'No routes configured.');
      }

      function renderBreakers(r) {
        if (!r.ok) { note('breakers-panel', 'Breakers: ' + failure(r)); return; }
        note('breakers-panel', '');
        const list = Object.entries(r.body.breakers || {}).sort((a, b) => a[0].localeCompare(b[0]));
        if (!changed('breakers', list)) return;
        fill('breakers', list.map(([name, b]) => {
          const tr = el('tr');
          tr.dataset.breaker = name;
          cell(tr, name, 'mono');
          const state = cell(tr, null, 'nowrap');
          const badge = el('span', 'badge state state-' + b.state, b.state.replace('_', '-'));
          badge.dataset.state = b.state;
          state.appendChild(badge);
          if (b.forced) state.appendChild(el('span', 'tag', 'forced'));
          if (b.next_probe_at) state.appendChild(el('span', 'tag', 'probe ' + clock(b.next_probe_at)));
          cell(tr, nf.format(b.consecutive_failures) + ' failed', 'num nowrap');
          cell(tr, nf.format(b.window_successes) + ' ok / ' + nf.format(b.window_failures) + ' failed', 'num nowrap');
          const actions = cell(tr, null, 'nowrap');
          actions.appendChild(button('Open', { action: 'breaker', op: 'open', name }, 'danger'));
          actions.appendChild(button('Close', { action: 'breaker', op: 'close', name }));
          actions.appendChild(button('Reset', { action: 'breaker', op: 'reset', name }));
          return tr;
        }), 'No circuit breakers configured (upstreams.NAME.circuit_breaker).');
      }

      function renderServers(r) {
        if (!r.ok) { note('servers-panel', 'Upstreams: ' + failure(r)); return; }
        note('servers-panel', '');
        const rows = [];
        for (const [name, u] of Object.entries(r.body.upstreams || {}).sort((a, b) => a[0].localeCompare(b[0]))) {
          for (const s of u.servers || []) rows.push([name, u.balance, s]);
        }
        if (!changed('servers', rows)) return;
        fill('servers', rows.map(([name, balance, s]) => {
          const tr = el('tr');
          tr.dataset.server = name + '/' + s.index;
          cell(tr, name + (balance ? ' (' + balance.replace('_', ' ') + ')' : ''), 'mono');
          cell(tr, s.url + (s.weight > 1 ? ' ×' + s.weight : ''), 'mono');
          const state = cell(tr, null, 'nowrap');
          const badge = el('span', 'badge state state-' + (s.state === 'up' ? 'closed' : 'open'), s.state);
          badge.dataset.state = s.state;
          state.appendChild(badge);
          cell(tr, s.in_flight === undefined ? '–' : nf.format(s.in_flight), 'num');
          cell(tr, s.requests === undefined ? '–' : nf.format(s.requests), 'num');
          const actions = cell(tr, null, 'nowrap');
          if (balance) {
            actions.appendChild(s.state === 'drained' ? button('Enable', { action: 'server', op: 'enable', name, index: s.index })
                                                      : button('Drain', { action: 'server', op: 'drain', name, index: s.index }, 'danger'));
          } else {
            actions.textContent = 'one url';
          }
          return tr;
        }), 'No upstreams.');
      }

      function renderSaves(r) {
        if (!r.ok) { note('saves-panel', 'Journal: ' + failure(r)); return; }
        note('saves-panel', '');
        const saves = r.body.saves || [];
        $('saves-depth').textContent = saves.length ? saves.length + ' waiting for a replay' : 'empty';
        if (!changed('saves', saves)) return;
        fill('saves', saves.slice().reverse().map((s) => {
          const tr = el('tr');
          tr.dataset.saveId = s.id;
          cell(tr, s.id, 'mono');
          cell(tr, s.route, 'mono');
          cell(tr, s.user || s.identity);
          const reason = cell(tr, s.reason);
          if (Array.isArray(s.details)) reason.title = s.details.map((d) => (d.field || '(output)') + ': ' + d.message).join('\n');
          const when = cell(tr, s.time ? clock(s.time) : '–');
          if (s.time) when.title = new Date(s.time * 1000).toISOString();
          cell(tr, bytes(s.content_bytes), 'num');
          const actions = cell(tr, null, 'nowrap');
          actions.appendChild(button('View', { action: 'view', id: s.id }));
          actions.appendChild(button('Replay', { action: 'replay', id: s.id }));
          actions.appendChild(button('Delete', { action: 'delete', id: s.id }, 'danger'));
          return tr;
        }), 'Nothing journaled: every streamed save was confirmed.');
      }

      function renderTop(r) {
        if (!r.ok) { note('top-panel', 'Quotas: ' + failure(r)); return; }
        note('top-panel', '');
        const top = r.body.top || [];
        $('top-scan').textContent = r.body.complete ? '' : 'partial scan';
        if (!changed('top', top)) return;
        fill('top', top.map((q) => {
          const tr = el('tr');
          tr.dataset.caller = q.key;
          cell(tr, q.key === 'route' ? 'all callers' : q.key, 'mono');
          cell(tr, q.route, 'mono');
          const used = cell(tr, null, 'nowrap');
          if (q.limit) {
            const meter = el('meter');
            meter.min = 0; meter.max = q.limit; meter.value = Math.min(q.used, q.limit);
            meter.low = q.limit * 0.7; meter.high = q.limit * 0.9; meter.optimum = 0;
            used.appendChild(meter);
          }
          used.appendChild(el('span', null, nf.format(q.used) + (q.limit ? ' / ' + nf.format(q.limit) : '')));
          cell(tr, q.per ? 'per ' + q.per : '–');
          cell(tr, q.remaining === null ? '–' : nf.format(q.remaining), 'num');
          return tr;
        }), 'No quota counters are live.');
      }

      function renderUsage(r) {
        if (!r.ok) { note('usage-panel', 'Usage: ' + failure(r)); return; }
        note('usage-panel', '');
        const [hour, day] = r.body.windows || [];
        const since = r.body.since_start || { models: {}, total: {} };
        const models = [...new Set([...Object.keys(since.models), ...Object.keys(day ? day.models : {})])].sort();
        const data = { models, hour, day, since: since.models };
        if (!changed('usage', data)) return;
        const pick = (w, m) => (w && w.models[m]) || {};
        const rows = models.map((m) => usageRow(m, pick(day, m), pick(hour, m), since.models[m] || {}));
        if (models.length > 1) {
          const total = usageRow('All models', (day && day.total) || {}, (hour && hour.total) || {}, since.total || {});
          total.className = 'total';
          rows.push(total);
        }
        fill('usage', rows, 'No AI usage recorded yet (routes whose responses carry usage, with usage.prices or usage.budgets set).');
      }
      function usageRow(name, day, hour, since) {
        const tr = el('tr');
        tr.dataset.model = name;
        cell(tr, name, 'mono');
        cell(tr, nf.format(day.requests || 0), 'num');
        cell(tr, nf.format(day.input_tokens || 0), 'num');
        cell(tr, nf.format(day.output_tokens || 0), 'num');
        cell(tr, usd(hour.usd), 'num');
        cell(tr, usd(day.usd), 'num');
        cell(tr, usd(since.usd), 'num');
        return tr;
      }

    """#
}
