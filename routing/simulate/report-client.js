// Draws the charts of a `gateway simulate` report from the JSON embedded in the page.
// Plain browser JavaScript, inlined into the report by report-html.ts: no external URLs, no build.
// Each bar is an SVG <rect class="bar"> whose data-* attributes hold the numbers it shows; after
// drawing, the rendered pixel width is written back (data-rendered-width) for automated checks.
(function () {
  'use strict';
  var SVG = 'http://www.w3.org/2000/svg';
  var LABEL_W = 190, BAR_W = 420, VALUE_W = 170, ROW_H = 22, PAD = 6;
  var report = JSON.parse(document.getElementById('report-data').textContent);

  function el(name, attrs, text) {
    var e = document.createElementNS(SVG, name);
    for (var k in attrs) e.setAttribute(k, String(attrs[k]));
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function pct(x) { return (x * 100).toFixed(2) + '%'; }
  function num(x) { return Math.round(x).toLocaleString('en-US'); }

  // rows: [{ label, bars: [{ share, requests, cls, data }] }]; one row may hold several bars (before/after).
  function chart(id, title, rows) {
    var perRow = rows.reduce(function (m, r) { return Math.max(m, r.bars.length); }, 1);
    var rowH = ROW_H * perRow + PAD;
    var h = rows.length * rowH + PAD;
    var svg = el('svg', { id: id, class: 'chart', width: LABEL_W + BAR_W + VALUE_W, height: h, role: 'img', 'aria-label': title, 'data-bar-width': BAR_W });
    rows.forEach(function (row, i) {
      var y0 = PAD + i * rowH;
      svg.appendChild(el('text', { x: LABEL_W - 8, y: y0 + (ROW_H * row.bars.length) / 2 + 4, 'text-anchor': 'end', class: 'label' }, row.label));
      row.bars.forEach(function (b, j) {
        var y = y0 + j * ROW_H;
        var attrs = { class: 'bar ' + b.cls, x: LABEL_W, y: y + 2, height: ROW_H - 4, width: (b.share * BAR_W).toFixed(3), 'data-share': b.share, 'data-requests': b.requests };
        for (var k in b.data) attrs['data-' + k] = b.data[k];
        var rect = el('rect', attrs);
        rect.appendChild(el('title', {}, row.label + ': ' + num(b.requests) + ' requests (' + pct(b.share) + ')'));
        svg.appendChild(rect);
        svg.appendChild(el('text', { x: LABEL_W + b.share * BAR_W + 6, y: y + ROW_H / 2 + 4, class: 'value' }, num(b.requests) + ' · ' + pct(b.share)));
      });
    });
    var fig = document.createElement('figure');
    var cap = document.createElement('figcaption');
    cap.textContent = title;
    fig.appendChild(cap);
    fig.appendChild(svg);
    return fig;
  }

  function serverBars(scenario, upstream, cls) {
    var u = scenario.upstreams.find(function (x) { return x.name === upstream; });
    return u ? u.servers : [];
  }

  function drawScenario(s, host) {
    host.appendChild(chart('upstreams-' + s.label, 'Share of all routed requests per upstream (' + s.label + ')',
      s.upstreams.map(function (u) {
        return { label: u.name, bars: [{ share: u.share, requests: u.requests, cls: 'upstream', data: { scenario: s.label, upstream: u.name, kind: 'upstream' } }] };
      })));
    s.upstreams.forEach(function (u) {
      host.appendChild(chart('servers-' + s.label + '-' + u.name, u.name + ': share of the pool per server · imbalance (max/mean per unit of weight) ' + u.imbalance.toFixed(3) + ' by requests, ' + u.keyImbalance.toFixed(3) + ' by sticky keys',
        u.servers.map(function (sv) {
          return { label: sv.name + (sv.down ? ' (down)' : ''), bars: [{ share: sv.poolShare, requests: sv.requests, cls: sv.down ? 'server down' : 'server',
            data: { scenario: s.label, upstream: u.name, server: sv.name, kind: 'server', 'overall-share': sv.share, keys: sv.keys } }] };
        })));
    });
  }

  function drawComparison(before, after, host) {
    after.upstreams.forEach(function (u) {
      var b = serverBars(before, u.name);
      var names = b.map(function (x) { return x.name; });
      u.servers.forEach(function (x) { if (names.indexOf(x.name) < 0) names.push(x.name); });
      var changed = names.some(function (n) {
        var x = b.find(function (s) { return s.name === n; }), y = u.servers.find(function (s) { return s.name === n; });
        return !x || !y || x.requests !== y.requests || x.down !== y.down;
      });
      if (!changed) return;
      host.appendChild(chart('compare-' + u.name, u.name + ': before (upper bar, blue-grey) and after (lower bar, orange) the change',
        names.map(function (n) {
          var x = b.find(function (s) { return s.name === n; }) || { poolShare: 0, requests: 0, down: false };
          var y = u.servers.find(function (s) { return s.name === n; }) || { poolShare: 0, requests: 0, down: false };
          var tag = !x.requests && !b.some(function (s) { return s.name === n; }) ? ' (added)' : y.down ? ' (down)' : '';
          return { label: n + tag, bars: [
            { share: x.poolShare, requests: x.requests, cls: 'before', data: { scenario: 'before', upstream: u.name, server: n, kind: 'compare' } },
            { share: y.poolShare, requests: y.requests, cls: y.down ? 'after down' : 'after', data: { scenario: 'after', upstream: u.name, server: n, kind: 'compare' } },
          ] };
        })));
    });
  }

  var charts = document.getElementById('charts');
  report.scenarios.forEach(function (s) {
    var section = document.createElement('section');
    section.className = 'scenario';
    section.setAttribute('data-scenario', s.label);
    var h = document.createElement('h2');
    h.textContent = report.scenarios.length > 1 ? 'Routing ' + s.label + ' the change' : 'Routing';
    section.appendChild(h);
    drawScenario(s, section);
    charts.appendChild(section);
  });
  if (report.scenarios.length > 1) {
    var cmp = document.getElementById('comparison-charts');
    drawComparison(report.scenarios[0], report.scenarios[1], cmp);
  }
  // Record what the browser actually laid out, so a headless check sees drawn pixels, not intentions.
  document.querySelectorAll('rect.bar').forEach(function (r) {
    r.setAttribute('data-rendered-width', r.getBoundingClientRect().width.toFixed(2));
  });
  document.body.setAttribute('data-charts', String(document.querySelectorAll('svg.chart').length));
  document.body.setAttribute('data-rendered', 'ok');
})();
