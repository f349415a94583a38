// Palisade UI: one page, six linked views. Served by `palisade serve` (data from the JSON
// endpoints, docs/ui.md) or inlined by `palisade report` (data in #palisade-data).
// Plain JavaScript, no build step; cytoscape.js and cytoscape-dagre are loaded before it.
(function () {
  'use strict';

  const dataEl = document.getElementById('palisade-data');
  const REPORT = dataEl ? JSON.parse(dataEl.textContent) : null;
  const $ = (id) => document.getElementById(id);
  const S = {
    status: null, map: null, replay: null, lint: null, audit: null, diff: null,
    view: 'map', focus: null, range: null, expanded: new Set(), cy: null,
    selectedSession: null, dirty: new Set(), generation: 0, firstRenderMs: null,
  };
  const VIEWS = ['map', 'matrix', 'explain', 'timeline', 'findings', 'diff'];
  const MAX_EDGE_ROWS = 500;
  const MAX_MAP_EDGES = 4000;
  const MAX_SESSION_ROWS = 1000;
  const MAX_LANES = 60;
  const MAX_MARKS = 5000;
  const DAGRE_MAX_EDGES = 150;

  // ---- small helpers ---------------------------------------------------------------------

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? '' : v);
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  }
  function svgEl(tag, attrs) {
    const e = document.createElementNS('http://www.w3.org/2000/svg', tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    return e;
  }
  const nsOf = (id) => (id.includes('/') ? id.split('/')[0] : null);
  const shortName = (id) => (id.includes('/') ? id.split('/').slice(1).join('/') : id);
  const cssVar = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  const isDenied = (outcome) => outcome === 'refused' || outcome === 'timed-out';
  const plural = (n, w) => `${n} ${w}${n === 1 ? '' : 's'}`;

  // Keyboard navigation for list tables: arrows move, Enter/Space activates.
  function keyboardList(tbody) {
    tbody.addEventListener('keydown', (ev) => {
      const row = ev.target.closest('tr');
      if (!row) return;
      let next = null;
      if (ev.key === 'ArrowDown') next = row.nextElementSibling;
      else if (ev.key === 'ArrowUp') next = row.previousElementSibling;
      else if (ev.key === 'Home') next = tbody.firstElementChild;
      else if (ev.key === 'End') next = tbody.lastElementChild;
      else if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); row.click(); return; }
      if (next) { ev.preventDefault(); next.focus(); }
    });
  }

  // ---- data ------------------------------------------------------------------------------

  class ReportMissing extends Error {}

  async function api(name, params) {
    if (REPORT) {
      if (name === 'check') {
        const key = [params.from, params.to, params.port, params.protocol].join('|');
        const hit = REPORT.checks && REPORT.checks[key];
        if (!hit) throw new ReportMissing(key);
        return hit;
      }
      if (name === 'matrix') {
        const m = REPORT.matrices && REPORT.matrices[`${params.port}/${params.protocol}`];
        if (!m) throw new ReportMissing(`${params.port}/${params.protocol}`);
        return params.namespace ? sliceMatrix(m, params.namespace) : m;
      }
      return REPORT[name] === undefined ? null : REPORT[name];
    }
    const qs = params ? '?' + new URLSearchParams(params).toString() : '';
    const res = await fetch(`/api/${name}${qs}`, { credentials: 'same-origin' });
    const body = await res.json();
    if (res.status === 404 && (name === 'diff' || name === 'replay')) return null;
    if (!res.ok) throw new Error(body.error || `HTTP ${res.status}`);
    return body;
  }

  function sliceMatrix(m, ns) {
    const keep = m.peers.map((p, i) => [p, i]).filter(([p]) => p.startsWith(ns + '/')).map(([, i]) => i);
    return { ...m, peers: keep.map((i) => m.peers[i]), allowed: keep.map((r) => keep.map((c) => m.allowed[r][c])) };
  }

  // The map document refers to nodes and port lists by index (docs/ui.md); the views
  // work with names.
  function resolveMap(doc) {
    if (doc.resolved) return doc;
    const names = doc.nodes.map((n) => n.id);
    const edges = doc.edges.map((e) => ({
      src: names[e.src], dst: names[e.dst], verdict: e.verdict,
      allowed: e.allowed === null ? [] : doc.port_sets[e.allowed], flows: e.flows || [],
    }));
    return { ...doc, edges, resolved: true };
  }

  const sourceCache = new Map();
  async function source(file) {
    if (REPORT) return (REPORT.sources && REPORT.sources[file]) || null;
    if (!sourceCache.has(file)) {
      sourceCache.set(file, fetch('/api/source?' + new URLSearchParams({ file }), { credentials: 'same-origin' })
        .then((r) => (r.ok ? r.text() : null)));
    }
    return sourceCache.get(file);
  }

  async function loadAll() {
    const [status, map, lint, audit, diff, replay] = await Promise.all(
      ['status', 'map', 'lint', 'audit', 'diff', 'replay'].map((n) => api(n)));
    Object.assign(S, { status, map: resolveMap(map), lint, audit, diff, replay });
    S.generation = status.generation;
    sourceCache.clear();
    if (S.focus && !S.map.nodes.some((n) => n.id === S.focus)) S.focus = null;
  }

  // ---- code frames -----------------------------------------------------------------------

  // The YAML around `line`: from `line - before` to the end of the document (next `---`),
  // at most `max` lines; the line itself highlighted, with a caret under `column`.
  async function codeFrame(file, line, opts) {
    const o = Object.assign({ before: 2, after: 24, column: null, toDocEnd: true, name: true }, opts || {});
    const text = await source(file);
    if (text === null) return el('p', { class: 'note', text: `${file}:${line} (file not available)` });
    const lines = text.split('\n');
    const start = Math.max(1, line - o.before);
    let end = Math.min(lines.length, line + o.after);
    if (o.toDocEnd) {
      for (let i = line; i < end; i++) if (lines[i] !== undefined && lines[i].startsWith('---')) { end = i; break; }
    }
    const pre = el('pre', { class: 'code', 'aria-label': `${file} line ${line}` });
    for (let n = start; n <= end; n++) {
      const row = el('span', { class: 'line' + (n === line ? ' hit' : '') }, el('span', { class: 'ln', text: n }), lines[n - 1] || '');
      pre.append(row);
      if (n === line && o.column) {
        pre.append(el('span', { class: 'line' }, el('span', { class: 'ln', text: '' }), el('span', { class: 'caret', text: ' '.repeat(o.column - 1) + '^' })));
      }
    }
    return el('div', {}, o.name ? el('div', { class: 'note', text: `${file}:${line}` }) : null, pre);
  }

  function locButton(file, line, target) {
    if (!file) return null;
    return el('button', {
      class: 'loc', type: 'button', text: `${file}:${line}`,
      onclick: async () => { target.replaceChildren(await codeFrame(file, line)); },
    });
  }

  // ---- focus and time range (the links between views) --------------------------------------

  function setFocus(id) {
    S.focus = id;
    const f = $('focus');
    f.replaceChildren();
    if (id) {
      f.append('Focus: ', el('strong', { text: id }), el('button', { type: 'button', text: 'clear', 'aria-label': 'Clear focus', onclick: () => setFocus(null) }));
      $('explain-from').value = id;
    }
    invalidate();
  }

  function setRange(range) {
    S.range = range;
    invalidate();
  }

  function invalidate() {
    VIEWS.forEach((v) => S.dirty.add(v));
    renderView(S.view);
  }

  function inRange(s) {
    if (!S.range) return true;
    const t = Date.parse(s.start);
    return t >= S.range[0] && t <= S.range[1];
  }

  function showView(view) {
    S.view = view;
    for (const v of VIEWS) {
      $('view-' + v).hidden = v !== view;
      $('tab-' + v).setAttribute('aria-selected', String(v === view));
    }
    renderView(view);
  }

  function renderView(view) {
    if (!S.map) return;
    if (!S.dirty.has(view)) { if (view === 'map' && S.cy) S.cy.resize(); return; }
    S.dirty.delete(view);
    ({ map: renderMap, matrix: renderMatrixView, explain: () => {}, timeline: renderTimeline, findings: renderFindings, diff: renderDiff })[view]();
  }

  // ---- map -------------------------------------------------------------------------------

  // The edges in force: the map's, or with a time range, the observed part recounted from
  // the sessions inside it (policy edges stay).
  function effectiveEdges() {
    const edges = S.map.edges;
    if (!S.range || !S.replay) return edges;
    const byPair = new Map();
    for (const e of edges) byPair.set(e.src + '\u0000' + e.dst, { ...e, flows: [], verdict: 'allowed' });
    for (const s of S.replay.sessions) {
      if (!inRange(s)) continue;
      const k = s.src + '\u0000' + s.dst;
      if (!byPair.has(k)) byPair.set(k, { src: s.src, dst: s.dst, allowed: [], flows: [], verdict: 'allowed' });
      const e = byPair.get(k);
      let f = e.flows.find((x) => x.port === s.dst_port && x.protocol === s.protocol);
      if (!f) {
        f = { protocol: s.protocol, port: s.dst_port, sessions: 0, observed: { accepted: 0, refused: 0, 'timed-out': 0, unknown: 0 }, predicted_allowed: 0, predicted_denied: 0, mismatches: 0 };
        e.flows.push(f);
      }
      f.sessions++;
      f.observed[s.observed]++;
      if (s.predicted === 'accepted') f.predicted_allowed++; else f.predicted_denied++;
      if (s.mismatch) f.mismatches++;
    }
    const out = [];
    for (const e of byPair.values()) {
      if (!e.allowed.length && !e.flows.length) continue;
      e.verdict = e.flows.some((f) => f.mismatches) ? 'mismatch' : e.flows.some((f) => f.predicted_denied) ? 'denied' : 'allowed';
      out.push(e);
    }
    return out;
  }

  function portMatches(e, port) {
    if (e.flows.some((f) => String(f.port) === port)) return true;
    const p = Number(port);
    return e.allowed.some((a) => a.ports.split(',').some((r) => {
      const [lo, hi] = r.split('-').map(Number);
      return p >= lo && p <= (hi || lo);
    }));
  }

  function nodeMatches(node, q) {
    if (!q) return true;
    q = q.toLowerCase();
    if (node.id.toLowerCase().includes(q)) return true;
    const labels = node.labels || {};
    return Object.entries(labels).some(([k, v]) => `${k}=${v}`.toLowerCase().includes(q));
  }

  // The filtered edges and the nodes they touch (plus matching nodes without edges).
  function filteredGraph() {
    const q = $('map-search').value.trim();
    const ns = $('map-ns').value;
    const port = $('map-port').value.trim();
    const outcome = $('map-outcome').value;
    const show = $('map-show').value;
    const nodes = new Map(S.map.nodes.map((n) => [n.id, n]));
    const keepNode = (id) => {
      const n = nodes.get(id);
      if (!n) return false;
      if (ns && n.namespace !== ns) return false;
      return true;
    };
    const edges = effectiveEdges().filter((e) => {
      if (!keepNode(e.src) && !keepNode(e.dst)) return false;
      if (ns && nodes.get(e.src)?.namespace !== ns && nodes.get(e.dst)?.namespace !== ns) return false;
      if (q && !nodeMatches(nodes.get(e.src) || { id: e.src }, q) && !nodeMatches(nodes.get(e.dst) || { id: e.dst }, q)) return false;
      if (show === 'observed' && !e.flows.length) return false;
      if (show === 'policy' && !e.allowed.length) return false;
      if (port && !portMatches(e, port)) return false;
      if (outcome) {
        if (['allowed', 'denied', 'mismatch'].includes(outcome)) { if (e.verdict !== outcome) return false; }
        else if (!e.flows.some((f) => f.observed[outcome] > 0)) return false;
      }
      if (S.focus && e.src !== S.focus && e.dst !== S.focus) return false;
      return true;
    });
    const shown = new Set();
    for (const e of edges) { shown.add(e.src); shown.add(e.dst); }
    if (!port && !outcome && !S.focus) {
      for (const n of S.map.nodes) if ((!ns || n.namespace === ns) && (!q || nodeMatches(n, q))) shown.add(n.id);
    }
    if (S.focus) shown.add(S.focus);
    return { edges, nodes: [...shown].map((id) => nodes.get(id) || { id, kind: 'external', namespace: null }) };
  }

  const groupOf = (n) => (n.namespace ? n.namespace : '(external)');

  function edgeSummary(e) {
    if (e.flows.length) {
      const n = e.flows.reduce((a, f) => a + f.sessions, 0);
      const ports = [...new Set(e.flows.map((f) => `${f.port}/${f.protocol}`))].join(',');
      const guards = [...new Set(e.flows.flatMap((f) => f.guardrails || []))];
      return `${ports} · ${plural(n, 'session')}` + (guards.length ? ` · decided by ${guards.join(', ')}` : '');
    }
    return e.allowed.map((a) => `${a.protocol} ${a.ports}`).join('; ');
  }

  const VERDICT_RANK = { allowed: 0, denied: 1, mismatch: 2 };

  function renderMap() {
    const t0 = performance.now();
    S.mapEdgeMembers = [];
    const { edges, nodes } = filteredGraph();
    const groups = new Map();
    for (const n of nodes) {
      const g = groupOf(n);
      if (!groups.has(g)) groups.set(g, []);
      groups.get(g).push(n);
    }
    const visible = (id, node) => (S.expanded.has(groupOf(node)) ? id : 'ns:' + groupOf(node));
    const nodeById = new Map(nodes.map((n) => [n.id, n]));
    const els = [];
    for (const [g, members] of [...groups.entries()].sort()) {
      const expanded = S.expanded.has(g);
      const label = expanded ? g : `${g} (${members.length})`;
      els.push({ group: 'nodes', data: { id: 'ns:' + g, label, w: 7 * label.length + 18, kind: 'namespace', ns: g }, classes: expanded ? 'ns open' : 'ns closed' });
      if (expanded) {
        for (const n of members) {
          const label = n.kind === 'external' ? n.id : shortName(n.id);
          els.push({ group: 'nodes', data: { id: n.id, parent: 'ns:' + g, label, w: 6.5 * label.length + (n.kind === 'external' ? 40 : 16), kind: n.kind }, classes: n.id === S.focus ? 'focused' : '' });
        }
      }
    }
    const agg = new Map();
    for (let i = 0; i < edges.length; i++) {
      const e = edges[i];
      const sn = nodeById.get(e.src), dn = nodeById.get(e.dst);
      if (!sn || !dn) continue;
      const a = visible(e.src, sn), b = visible(e.dst, dn);
      if (a === b) continue;
      const k = a + '\u0000' + b;
      if (!agg.has(k)) agg.set(k, { source: a, target: b, verdict: 'allowed', members: [], sessions: 0 });
      const x = agg.get(k);
      x.members.push(i);
      if (VERDICT_RANK[e.verdict] > VERDICT_RANK[x.verdict]) x.verdict = e.verdict;
      x.sessions += e.flows.reduce((s, f) => s + f.sessions, 0);
    }
    let aggEdges = [...agg.values()];
    let capped = 0;
    if (aggEdges.length > MAX_MAP_EDGES) {
      aggEdges.sort((p, q) => VERDICT_RANK[q.verdict] - VERDICT_RANK[p.verdict] || q.sessions - p.sessions);
      capped = aggEdges.length - MAX_MAP_EDGES;
      aggEdges = aggEdges.slice(0, MAX_MAP_EDGES);
    }
    const labels = aggEdges.length <= 60;
    aggEdges.forEach((x, i) => {
      const single = x.members.length === 1 ? edges[x.members[0]] : null;
      els.push({
        group: 'edges',
        data: {
          id: 'e' + i, source: x.source, target: x.target, verdict: x.verdict,
          label: labels ? (single ? edgeSummary(single) : `${x.members.length} edges`) : '',
          width: x.sessions ? Math.min(6, 1.5 + Math.log10(1 + x.sessions)) : 1.5,
          src: single ? single.src : '', dst: single ? single.dst : '',
        },
      });
      S.mapEdgeMembers[i] = x.members.map((m) => edges[m]);
    });
    const omitted = S.map.policy_edges_omitted ? `; ${S.map.policy_edges_omitted} more allowed pairs not loaded (palisade connectivity lists them)` : '';
    $('map-count').textContent = `(${edges.length}${capped ? `; ${capped} aggregated edges not drawn` : ''}${omitted})`;
    drawGraph(els, t0);
    renderEdgeList(edges, nodeById);
  }

  function graphStyle() {
    const c = (v) => cssVar(v);
    return [
      { selector: 'node', style: { label: 'data(label)', 'font-size': 11, color: c('--fg'), 'text-valign': 'center', 'text-halign': 'center', 'background-color': c('--panel'), 'border-width': 1.5, 'border-color': c('--ns-border'), shape: 'round-rectangle', width: 'data(w)', height: 22 } },
      { selector: 'node[kind="external"]', style: { shape: 'diamond', height: 34, 'border-style': 'dashed' } },
      { selector: 'node.ns', style: { 'background-color': c('--ns'), 'border-color': c('--ns-border'), shape: 'rectangle', 'font-weight': 'bold' } },
      { selector: 'node.ns.closed', style: { 'border-width': 3, 'border-style': 'double', height: 30 } },
      { selector: 'node.ns.open', style: { 'text-valign': 'top', 'text-halign': 'center', 'text-margin-y': -4, padding: 12 } },
      { selector: 'node.focused', style: { 'border-width': 4, 'border-color': c('--accent') } },
      { selector: 'edge', style: { width: 'data(width)', 'curve-style': 'bezier', 'target-arrow-shape': 'triangle', 'line-color': c('--allowed'), 'target-arrow-color': c('--allowed'), label: 'data(label)', 'font-size': 9, color: c('--muted'), 'text-rotation': 'autorotate', 'text-background-color': c('--bg'), 'text-background-opacity': 0.8, 'text-background-padding': 1, 'arrow-scale': 1.1 } },
      { selector: 'edge[verdict="denied"]', style: { 'line-color': c('--denied'), 'target-arrow-color': c('--denied'), 'line-style': 'dashed', 'target-arrow-shape': 'tee', width: 3 } },
      { selector: 'edge[verdict="mismatch"]', style: { 'line-color': c('--mismatch'), 'target-arrow-color': c('--mismatch'), 'line-style': 'dotted', 'target-arrow-shape': 'diamond', width: 3.5 } },
      { selector: '.faded', style: { opacity: 0.15 } },
      { selector: ':selected', style: { 'overlay-color': c('--accent'), 'overlay-opacity': 0.2 } },
    ];
  }

  function drawGraph(els, t0) {
    if (!S.cy) {
      S.cy = cytoscape({ container: $('map-canvas'), elements: [], style: graphStyle(), minZoom: 0.05, maxZoom: 3 });
      S.cy.on('tap', 'node', (ev) => {
        const d = ev.target.data();
        if (d.kind === 'namespace') { toggleNamespace(d.ns); return; }
        setFocus(S.focus === d.id ? null : d.id);
      });
      S.cy.on('tap', 'edge', (ev) => {
        const members = S.mapEdgeMembers[Number(ev.target.id().slice(1))] || [];
        if (members.length === 1) { openExplainForEdge(members[0]); return; }
        const ends = [ev.target.source().data('ns'), ev.target.target().data('ns')].filter(Boolean);
        ends.forEach((g) => S.expanded.add(g));
        invalidate();
      });
    }
    const cy = S.cy;
    cy.startBatch();
    cy.elements().remove();
    cy.add(els);
    cy.endBatch();
    // dagre draws traffic left to right; on dense graphs (namespace level of a large cluster:
    // hundreds of edges between a few dozen nodes) its crossing reduction takes seconds, and
    // a force-directed layout about one, so those get rings by degree (the most connected
    // in the middle), which costs nothing.
    const dense = cy.edges().length > DAGRE_MAX_EDGES;
    const layout = cy.layout(dense
      ? { name: 'concentric', animate: false, fit: true, padding: 20, minNodeSpacing: 12, concentric: (n) => n.degree(false), levelWidth: (nodes) => Math.max(1, nodes.maxDegree(false) / 4), avoidOverlap: true }
      : { name: 'dagre', rankDir: 'LR', nodeSep: 14, rankSep: 70, edgeSep: 6, fit: true, padding: 20, animate: false });
    layout.one('layoutstop', () => {
      if (S.firstRenderMs === null) {
        S.firstRenderMs = performance.now();
        document.body.dataset.firstRenderMs = String(Math.round(S.firstRenderMs));
      }
      document.body.dataset.mapRendered = String(Number(document.body.dataset.mapRendered || 0) + 1);
      document.body.dataset.mapMs = String(Math.round(performance.now() - t0));
    });
    layout.run();
  }

  function toggleNamespace(g) {
    if (S.expanded.has(g)) S.expanded.delete(g); else S.expanded.add(g);
    S.dirty.add('map');
    renderView('map');
  }

  function renderEdgeList(edges, nodeById) {
    const tbody = $('map-edges').tBodies[0];
    tbody.replaceChildren();
    // Worst verdict first, then the busiest; keys computed once (90,000 edges at 2,000 workloads).
    const keyed = edges.map((e) => [VERDICT_RANK[e.verdict], e.flows.reduce((s, f) => s + f.sessions, 0), e]);
    keyed.sort((a, b) => b[0] - a[0] || b[1] - a[1]);
    const sorted = keyed.map((k) => k[2]);
    for (const e of sorted.slice(0, MAX_EDGE_ROWS)) {
      const word = { allowed: '✓ allowed', denied: '✕ denied', mismatch: '! mismatch' }[e.verdict];
      tbody.append(el('tr', { tabindex: 0, 'data-src': e.src, 'data-dst': e.dst, onclick: () => openExplainForEdge(e) },
        el('td', { class: 'v-' + e.verdict, text: word }), el('td', { text: e.src }), el('td', { text: e.dst }),
        el('td', { text: edgeSummary(e) })));
    }
    if (sorted.length > MAX_EDGE_ROWS) tbody.append(el('tr', {}, el('td', { colspan: 4, class: 'note', text: `${sorted.length - MAX_EDGE_ROWS} more: narrow with the search or filters` })));
    void nodeById;
  }

  // An address for `check` from a map node: the node itself, or the first address of an
  // external range (`10.0.0.0-10.0.0.255`, `203.0.113.0/24`).
  const checkable = (id) => (id.includes('/') && !/^[0-9a-f.:]+\/\d+$/i.test(id) ? id : id.split(/[-/]/)[0]);

  function openExplainForEdge(e) {
    let port = null, protocol = 'TCP';
    const flow = e.flows.find((f) => f.predicted_denied || f.mismatches) || e.flows[0];
    if (flow) { port = flow.port; protocol = flow.protocol; }
    else if (e.allowed.length) { protocol = e.allowed[0].protocol; port = Number(e.allowed[0].ports.split(/[,-]/)[0]); }
    openExplain(checkable(e.src), checkable(e.dst), port || 80, protocol);
  }

  // ---- explain ---------------------------------------------------------------------------

  function openExplain(from, to, port, protocol) {
    $('explain-from').value = from;
    $('explain-to').value = to;
    $('explain-port').value = port;
    $('explain-protocol').value = protocol;
    showView('explain');
    runExplain();
  }

  async function runExplain() {
    const params = { from: $('explain-from').value.trim(), to: $('explain-to').value.trim(), port: $('explain-port').value.trim(), protocol: $('explain-protocol').value };
    const out = $('explain-out');
    out.replaceChildren(el('p', { class: 'note', text: 'checking…' }));
    let r;
    try {
      r = await api('check', params);
    } catch (err) {
      if (err instanceof ReportMissing) {
        out.replaceChildren(el('p', { text: 'This report holds the explanations of the observed connections only. For this one, run:' }),
          el('pre', { class: 'code', text: `palisade check PATHS --from ${params.from} --to ${params.to} --port ${params.port} --protocol ${params.protocol}` }),
          el('p', { class: 'note', text: 'or open the same inputs with `palisade serve`.' }));
      } else {
        out.replaceChildren(el('p', { class: 'v-denied', role: 'alert', text: String(err.message || err) }));
      }
      return;
    }
    const head = el('div', { class: 'verdict ' + r.verdict, 'data-verdict': r.verdict },
      r.allowed ? '✓ ALLOWED ' : '✕ DENIED ', el('span', { class: 'muted', text: `${r.src} → ${r.dst}  ${r.port}/${r.protocol}` }));
    const notes = (r.notes || []).map((n) => el('p', { class: 'note', text: n }));
    const sides = el('div', { class: 'sides' });
    for (const [dir, side] of [['egress', r.egress], ['ingress', r.ingress]]) sides.append(await explainSide(dir, side, r));
    out.replaceChildren(head, ...notes, sides);
  }

  async function explainSide(dir, side, r) {
    const yaml = el('div', { class: 'yaml' });
    const box = el('div', { class: 'sidebox', 'data-side': dir },
      el('h3', {}, `${dir} of ${side.endpoint}: `, el('span', { class: side.allowed ? 'v-allowed' : 'v-denied', text: side.allowed ? `✓ ${side.outcome}` : `✕ ${side.outcome}` })));
    // The tier that decided this side: an admin or baseline rule, or NetworkPolicy (after a
    // Pass, or with no admin rule matching), or nothing (default allow).
    const adminRule = (a) => `[${a.tier}] ${a.policy} ${dir} rule ${a.rule}${a.name ? ` "${a.name}"` : ''} ${a.action} (priority ${a.priority})`;
    const tier = side.decided_by_admin ? side.decided_by_admin.tier.toLowerCase()
      : side.isolated ? 'networkpolicy' : side.outcome === 'not-isolated' ? 'default' : null;
    if (tier) {
      const line = el('p', { class: 'tier', 'data-tier': tier }, 'Decided by: ');
      if (side.passed_by) line.append(adminRule(side.passed_by).replace(/ Pass .*$/, ' Pass'), ' → ');
      if (side.decided_by_admin) line.append(el('strong', { text: adminRule(side.decided_by_admin) }), ' ', locButton(side.decided_by_admin.file, side.decided_by_admin.line, yaml));
      else if (tier === 'networkpolicy') line.append(el('strong', { text: '[NetworkPolicy]' }));
      else line.append(el('strong', { text: 'no tier (default allow)' }));
      box.append(line);
    }
    if (side.depends_on_dns) box.append(el('p', { class: 'note', 'data-dns': 'depends', text: 'Depends on DNS: a domainNames rule would accept this address if it is one of the names it lists.' }));
    if (side.decided_by_admin) {
      box.append(yaml);
      if (side.decided_by_admin.file) yaml.replaceChildren(await codeFrame(side.decided_by_admin.file, side.decided_by_admin.line));
      return box;
    }
    const words = {
      'not-applicable': `${side.endpoint} is outside the cluster: no NetworkPolicy applies to its ${dir}.`,
      'host-network': `${side.endpoint} uses the host network: NetworkPolicy does not apply to it.`,
      'not-isolated': `No NetworkPolicy selects ${side.endpoint} for ${dir}: all ${dir} traffic is allowed.`,
    };
    if (words[side.outcome]) { box.append(el('p', { text: words[side.outcome] })); return box; }
    box.append(el('div', {}, 'Isolated by:', el('ul', {}, side.isolated_by.map((p) => el('li', {}, p.policy, ' ', locButton(p.file, p.line, yaml))))));
    if (side.allowed_by.length) {
      box.append(el('div', {}, 'Allowed by:', el('ul', {}, side.allowed_by.map((m) => el('li', {},
        `${m.policy} ${dir} rule ${m.rule}` + (m.peer === null ? ', any peer' : `, peer ${m.peer}`) + (m.port === null ? ', any port' : `, port entry ${m.port}`), ' ', locButton(m.file, m.line, yaml))))));
    }
    if (!side.allowed) {
      const other = dir === 'egress' ? r.dst : r.src;
      box.append(el('p', { class: 'v-denied', text: `No ${dir} rule allows ${other} on ${r.port}/${r.protocol}.` }));
      if (side.near_misses.length) {
        box.append(el('div', {}, 'Closest rules:', el('ul', {}, side.near_misses.map((m) => el('li', { class: 'near-miss' },
          `${m.policy} ${dir} rule ${m.rule}: `, el('strong', { text: m.reason }), ' ', locButton(m.file, m.line, yaml))))));
      }
    }
    box.append(yaml);
    // Show the deciding YAML straight away: the closest rule of a denied side, else the
    // allowing rule, else the first isolating policy.
    const first = (!side.allowed && side.near_misses[0]) || side.allowed_by[0] || side.isolated_by[0];
    if (first && first.file) yaml.replaceChildren(await codeFrame(first.file, first.line));
    return box;
  }

  // ---- matrix ----------------------------------------------------------------------------

  function defaultMatrixPort() {
    if (REPORT) {
      const keys = Object.keys(REPORT.matrices || {});
      return keys.length ? keys[0].split('/') : [null, 'TCP'];
    }
    const counts = new Map();
    for (const e of S.map.edges) for (const f of e.flows) counts.set(`${f.port}/${f.protocol}`, (counts.get(`${f.port}/${f.protocol}`) || 0) + f.sessions);
    if (!counts.size) for (const e of S.map.edges) for (const a of e.allowed) { const p = a.ports.split(/[,-]/)[0]; counts.set(`${p}/${a.protocol}`, (counts.get(`${p}/${a.protocol}`) || 0) + 1); }
    const best = [...counts.entries()].sort((a, b) => b[1] - a[1])[0];
    return best ? best[0].split('/') : ['80', 'TCP'];
  }

  function renderMatrixView() {
    if (REPORT) {
      const keys = Object.keys(REPORT.matrices || {});
      const list = $('matrix-ports');
      list.replaceChildren(...keys.map((k) => el('option', { value: k.split('/')[0] })));
    }
    if (!$('matrix-port').value) {
      const [p, proto] = defaultMatrixPort();
      if (p) { $('matrix-port').value = p; $('matrix-protocol').value = proto; }
    }
    const workloads = S.map.nodes.filter((n) => n.kind !== 'external').length;
    if (workloads > 400 && !$('matrix-ns').value) {
      $('matrix-out').replaceChildren(el('p', { class: 'note', text: `${workloads} workloads: choose a namespace to see its matrix.` }));
      return;
    }
    loadMatrix();
  }

  async function loadMatrix() {
    const out = $('matrix-out');
    const params = { port: $('matrix-port').value.trim(), protocol: $('matrix-protocol').value };
    if ($('matrix-ns').value) params.namespace = $('matrix-ns').value;
    let m;
    try {
      m = await api('matrix', params);
    } catch (err) {
      if (err instanceof ReportMissing) {
        const keys = Object.keys(REPORT.matrices || {});
        out.replaceChildren(el('p', { text: keys.length ? `This report holds the matrices of ${keys.join(', ')}; for another port run \`palisade matrix PATHS --port ${params.port} --protocol ${params.protocol}\`.` : 'This report holds no matrix (too many workloads); use `palisade serve`.' }));
      } else out.replaceChildren(el('p', { class: 'v-denied', role: 'alert', text: String(err.message || err) }));
      return;
    }
    const table = el('table', { class: 'matrix', 'aria-label': `Reachability on ${m.port}/${m.protocol}` });
    const head = el('tr', {}, el('th', { text: 'from \\ to' }), m.peers.map((p, c) => el('th', { scope: 'col', class: p === S.focus ? 'hl' : null, 'data-col': c, text: p })));
    table.append(el('thead', {}, head));
    const body = el('tbody');
    m.peers.forEach((from, r) => {
      const tr = el('tr', {}, el('th', { scope: 'row', class: from === S.focus ? 'hl' : null, text: from }));
      m.allowed[r].forEach((ok, c) => {
        const to = m.peers[c];
        const hl = S.focus && (from === S.focus || to === S.focus);
        tr.append(el('td', {
          class: (ok ? 'cell-allowed' : 'cell-denied') + (hl ? ' hl' : ''), tabindex: -1, title: `${from} → ${to}: ${ok ? 'allowed' : 'denied'}`,
          'data-from': from, 'data-to': to, text: ok ? '✓' : '✕',
          onclick: () => openExplain(from, to, m.port, m.protocol),
        }));
      });
      body.append(tr);
    });
    table.append(body);
    out.replaceChildren(table);
  }

  // ---- timeline --------------------------------------------------------------------------

  function sessionsInView() {
    if (!S.replay) return [];
    return S.replay.sessions.map((s, i) => [s, i]).filter(([s]) => inRange(s) && (!S.focus || s.src === S.focus || s.dst === S.focus));
  }

  function renderTimeline() {
    const chart = $('timeline-chart');
    if (!S.replay) {
      chart.replaceChildren(el('p', { class: 'empty', text: 'No capture: start with --capture FILE to replay recorded traffic.' }));
      $('timeline-sessions').tBodies[0].replaceChildren();
      $('timeline-count').textContent = '';
      $('timeline-range').textContent = '';
      return;
    }
    const all = S.replay.sessions;
    const times = all.map((s) => Date.parse(s.start));
    const t0 = Math.min(...times), t1 = Math.max(...times, t0 + 1);
    const rows = sessionsInView();
    const laneOf = new Map();
    const lanes = [];
    for (const [s] of rows) {
      const k = `${s.src} → ${s.dst} :${s.dst_port}/${s.protocol}`;
      if (!laneOf.has(k)) { if (lanes.length < MAX_LANES) { laneOf.set(k, lanes.length); lanes.push(k); } else laneOf.set(k, MAX_LANES); }
    }
    if (lanes.length === MAX_LANES && [...laneOf.values()].includes(MAX_LANES)) lanes.push('… other pairs');
    const W = Math.max(600, chart.clientWidth || 900), left = 330, right = 20, top = 24, laneH = 18;
    const H = top + lanes.length * laneH + 10;
    const x = (t) => left + ((t - t0) / (t1 - t0)) * (W - left - right);
    const svg = svgEl('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': `${rows.length} sessions over time` });
    for (const sp of (S.replay.spikes && S.replay.spikes.spikes) || []) {
      const a = Math.max(left, x(Date.parse(sp.start))), b = Math.min(W - right, x(Date.parse(sp.end)));
      svg.append(svgEl('rect', { class: 'spike', x: a, y: top - 4, width: Math.max(2, b - a), height: H - top, 'data-spike': sp.start }));
    }
    for (let i = 0; i <= 4; i++) {
      const t = t0 + ((t1 - t0) * i) / 4;
      const gx = x(t);
      svg.append(svgEl('line', { class: 'grid', x1: gx, x2: gx, y1: top - 4, y2: H }));
      const label = svgEl('text', { class: 'axis', x: gx, y: 12, 'text-anchor': i === 0 ? 'start' : i === 4 ? 'end' : 'middle' });
      label.textContent = new Date(t).toISOString().slice(11, 23);
      svg.append(label);
    }
    lanes.forEach((k, i) => {
      const t = svgEl('text', { class: 'lane', x: left - 6, y: top + i * laneH + 12, 'text-anchor': 'end' });
      t.textContent = k.length > 52 ? k.slice(0, 51) + '…' : k;
      svg.append(t);
    });
    // Past MAX_MARKS sessions, draw every flagged or not-accepted one and a sample of the rest.
    let marks = rows;
    if (rows.length > MAX_MARKS) {
      const notable = rows.filter(([s]) => s.mismatch || s.observed !== 'accepted');
      const rest = rows.filter(([s]) => !(s.mismatch || s.observed !== 'accepted'));
      const room = Math.max(0, MAX_MARKS - notable.length);
      const step = rest.length / Math.max(1, room);
      const sample = [];
      for (let i = 0; i < room && Math.floor(i * step) < rest.length; i++) sample.push(rest[Math.floor(i * step)]);
      marks = notable.slice(0, MAX_MARKS).concat(sample);
    }
    for (const [s, idx] of marks) {
      const cx = x(Date.parse(s.start)), cy = top + laneOf.get(`${s.src} → ${s.dst} :${s.dst_port}/${s.protocol}`) * laneH + 8;
      const cls = 's-' + s.observed + (idx === S.selectedSession ? ' sel' : '');
      let mark;
      if (s.observed === 'accepted') mark = svgEl('circle', { cx, cy, r: 5 });
      else if (s.observed === 'refused') mark = svgEl('rect', { x: cx - 5, y: cy - 5, width: 10, height: 10 });
      else if (s.observed === 'timed-out') mark = svgEl('polygon', { points: `${cx},${cy - 6} ${cx + 6},${cy + 5} ${cx - 6},${cy + 5}` });
      else mark = svgEl('polygon', { points: `${cx},${cy - 6} ${cx + 6},${cy} ${cx},${cy + 6} ${cx - 6},${cy}` });
      mark.setAttribute('class', 'session ' + cls);
      mark.setAttribute('data-index', idx);
      mark.setAttribute('data-observed', s.observed);
      const title = svgEl('title');
      title.textContent = `${s.start} ${s.src} → ${s.dst}:${s.dst_port}/${s.protocol} observed ${s.observed}, predicted ${s.predicted}`;
      mark.append(title);
      mark.addEventListener('click', (ev) => { ev.stopPropagation(); selectSession(idx); });
      svg.append(mark);
      if (s.mismatch) svg.append(svgEl('circle', { class: 'ring', cx, cy, r: 8.5, 'data-mismatch': idx }));
    }
    // Brush: drag across the chart to set the time range of every view.
    let start = null, brush = null;
    const toT = (px) => t0 + ((px - left) / (W - left - right)) * (t1 - t0);
    const pos = (ev) => { const b = svg.getBoundingClientRect(); return ((ev.clientX - b.left) / b.width) * W; };
    svg.addEventListener('mousedown', (ev) => { start = pos(ev); brush = svgEl('rect', { class: 'brush', x: start, y: top - 4, width: 0, height: H - top }); svg.append(brush); });
    svg.addEventListener('mousemove', (ev) => { if (start === null) return; const p = pos(ev); brush.setAttribute('x', Math.min(p, start)); brush.setAttribute('width', Math.abs(p - start)); });
    const finish = (ev) => {
      if (start === null) return;
      const p = pos(ev), a = Math.min(p, start), b = Math.max(p, start);
      start = null;
      if (b - a > 4) setRange([toT(a), toT(b)]); else if (brush) brush.remove();
    };
    svg.addEventListener('mouseup', finish);
    svg.addEventListener('mouseleave', finish);
    chart.replaceChildren(svg);
    const sampled = marks.length < rows.length ? ` · ${marks.length} of ${rows.length} sessions drawn (every flagged or not-accepted one)` : '';
    $('timeline-range').textContent = (S.range ? `Time range: ${new Date(S.range[0]).toISOString().slice(11, 23)} – ${new Date(S.range[1]).toISOString().slice(11, 23)} (every view is filtered)` : 'All of the capture') + sampled;
    renderSessionTable(rows);
    renderChanges();
  }

  function renderSessionTable(rows) {
    const tbody = $('timeline-sessions').tBodies[0];
    tbody.replaceChildren();
    const sum = S.replay.summary;
    $('timeline-count').textContent = `(${rows.length} of ${sum.sessions}; observed ${sum.observed.accepted} accepted, ${sum.observed.refused} refused, ${sum.observed['timed-out']} timed out, ${sum.observed.unknown} unknown; ${sum.mismatches.total} flagged)`;
    for (const [s, idx] of rows.slice(0, MAX_SESSION_ROWS)) {
      tbody.append(el('tr', { tabindex: 0, class: idx === S.selectedSession ? 'selected' : null, 'data-index': idx, onclick: () => selectSession(idx) },
        el('td', { text: s.start.slice(11, 23) }), el('td', { text: s.src }), el('td', { text: s.dst }),
        el('td', { text: `${s.dst_port}/${s.protocol}` }),
        el('td', { class: 'o-' + s.observed, text: s.observed }), el('td', { text: s.predicted }),
        el('td', { class: s.mismatch ? 'v-mismatch' : null, text: s.mismatch ? `! ${s.mismatch.kind}` : (s.change ? s.change : '') })));
    }
  }

  async function selectSession(idx) {
    S.selectedSession = idx;
    const s = S.replay.sessions[idx];
    const yaml = el('div', { class: 'yaml' });
    const decisions = (ds) => el('ul', {}, ds.map((d) => el('li', { 'data-tier': d.tier ? d.tier.toLowerCase() : 'networkpolicy' }, `${d.direction}: [${d.tier || 'NetworkPolicy'}] ${d.policy}${d.rule === null ? '' : ' rule ' + d.rule} ${d.effect}`, ' ', locButton(d.file, d.line, yaml))));
    const detail = $('session-detail');
    const parts = [
      el('h2', { text: `${s.src} → ${s.dst}` }),
      el('p', {}, `${s.start} · ${s.src_ip}:${s.src_port} → ${s.dst_ip}:${s.dst_port}/${s.protocol}`),
      el('p', {}, 'Observed ', el('strong', { class: 'o-' + s.observed, text: s.observed }), `, predicted ${s.predicted}`, s.proposed ? ` (proposed: ${s.proposed}${s.change ? ', ' + s.change : ''})` : ''),
      el('p', { text: `Evidence: ${s.evidence} (${plural(s.attempts, 'attempt')})${s.during_gap ? '; during a capture gap' : ''}` }),
      s.mismatch ? el('p', { class: 'v-mismatch', text: `Observed ≠ predicted (${s.mismatch.kind}): ${s.mismatch.reason}` }) : null,
      s.depends_on_dns ? el('p', { class: 'note', 'data-dns': 'depends', text: 'Depends on DNS: a domainNames rule could accept this address; the capture has no DNS answer naming it.' }) : null,
      s.dns_names ? el('p', { class: 'note', text: `DNS: ${s.dst_ip} is ${s.dns_names.join(', ')} (the capture's answers)` }) : null,
      el('div', {}, 'Deciding rules:', s.decided_by.length ? decisions(s.decided_by) : el('p', { class: 'note', text: 'no policy applies on either side' })),
      s.proposed_decided_by ? el('div', {}, 'Under the proposal:', decisions(s.proposed_decided_by)) : null,
      el('button', { type: 'button', text: 'Explain this connection', onclick: () => openExplain(checkable(s.src), checkable(s.dst), s.dst_port, s.protocol) }),
      yaml];
    detail.replaceChildren(...parts.filter(Boolean));
    for (const tr of $('timeline-sessions').tBodies[0].rows) tr.classList.toggle('selected', Number(tr.dataset.index) === idx);
    for (const m of $('timeline-chart').querySelectorAll('.session')) m.classList.toggle('sel', Number(m.dataset.index) === idx);
  }

  function renderChanges() {
    const out = $('timeline-changes');
    const changes = S.replay.changes;
    if (!changes) { out.replaceChildren(); return; }
    const rows = changes.map((c) => el('tr', { tabindex: 0, onclick: () => openExplain(checkable(c.src), checkable(c.dst), c.port, c.protocol) },
      el('td', { class: c.change === 'break' ? 'v-denied' : 'v-allowed', text: c.change === 'break' ? '✕ would break' : '✓ would open' }),
      el('td', { text: c.src }), el('td', { text: c.dst }), el('td', { text: `${c.port}/${c.protocol}` }), el('td', { text: c.sessions })));
    const tbody = el('tbody', {}, rows);
    keyboardList(tbody);
    out.replaceChildren(el('h2', { text: `With the proposed policies: ${S.replay.summary.whatif ? `${S.replay.summary.whatif.breaks} sessions would break, ${S.replay.summary.whatif.opens} would open` : ''}` }),
      changes.length ? el('table', { class: 'list', id: 'changes' }, el('thead', {}, el('tr', {}, ['change', 'from', 'to', 'port', 'sessions'].map((h) => el('th', { text: h })))), tbody)
        : el('p', { class: 'empty', text: 'Nothing observed would change.' }));
  }

  // ---- findings and diff -----------------------------------------------------------------

  function renderFindings() {
    const out = $('lint-out');
    const ds = S.lint.diagnostics;
    $('lint-count').textContent = `(${ds.length})`;
    out.replaceChildren();
    if (!ds.length) out.append(el('p', { class: 'empty', text: 'No findings.' }));
    for (const d of ds) {
      const frame = el('div');
      const box = el('article', { class: 'finding ' + d.severity, tabindex: 0, 'data-code': d.code },
        el('h3', {}, el('span', { class: 'badge', text: d.code }), ` ${d.severity}: ${d.message}`),
        el('div', { class: 'note', text: `${d.file}:${d.line}:${d.column}` }), frame,
        d.help ? el('p', { text: 'help: ' + d.help }) : null);
      out.append(box);
      codeFrame(d.file, d.line, { before: 2, after: 2, column: d.column, toDocEnd: false, name: false }).then((f) => frame.replaceChildren(f));
    }
    const a = S.audit.namespaces;
    const cell = (list) => el('td', { title: list.join('\n'), text: list.length });
    const tbody = el('tbody', {}, a.map((n) => el('tr', { tabindex: 0, onclick: () => { $('map-ns').value = n.name; showView('map'); invalidate(); } },
      el('td', { text: n.name }), el('td', { text: n.policies.length }), el('td', { text: n.workloads }),
      cell(n.ingress_isolated), cell(n.egress_isolated), cell(n.open_to_cluster), cell(n.open_to_world))));
    keyboardList(tbody);
    $('audit-out').replaceChildren(el('table', { class: 'list', id: 'audit' },
      el('thead', {}, el('tr', {}, ['namespace', 'policies', 'workloads', 'ingress isolated', 'egress isolated', 'open to cluster', 'open to world'].map((h) => el('th', { text: h })))), tbody));
  }

  function renderDiff() {
    const out = $('diff-out');
    if (!S.diff) { out.replaceChildren(el('p', { class: 'empty', text: 'No proposal: start with --proposed PATHS to see what it opens and closes.' })); return; }
    const sum = S.diff.summary;
    const ports = (list) => list.map((a) => `${a.protocol} ${a.ports}`).join('; ') || '—';
    const tbody = el('tbody', {}, S.diff.changes.map((c) => el('tr', { tabindex: 0, onclick: () => { setFocus(c.src); } },
      el('td', { class: c.change === 'removed' ? 'v-denied' : c.change === 'added' ? 'v-allowed' : 'v-mismatch', text: { added: '+ opens', removed: '− closes', changed: '~ changes' }[c.change] || c.change }),
      el('td', { text: c.src }), el('td', { text: c.dst }), el('td', { text: ports(c.before) }), el('td', { text: ports(c.after) }),
      el('td', {}, c.causes.map((k) => el('div', { text: `${k.what} ${k.policy} (${k.file}:${k.line})` }))))));
    keyboardList(tbody);
    out.replaceChildren(el('h2', { text: `The proposed policies: ${sum.added} added, ${sum.removed} removed, ${sum.changed} changed connections` }),
      S.diff.changes.length ? el('table', { class: 'list', id: 'diff' }, el('thead', {}, el('tr', {}, ['change', 'from', 'to', 'before', 'after', 'cause'].map((h) => el('th', { text: h })))), tbody)
        : el('p', { class: 'empty', text: 'The proposal changes no connection.' }));
  }

  // ---- start -----------------------------------------------------------------------------

  function fillSelectors() {
    const names = [...new Set(S.map.nodes.map((n) => n.namespace).filter(Boolean))].sort();
    for (const id of ['map-ns', 'matrix-ns']) {
      const sel = $(id), keep = sel.value;
      sel.replaceChildren(el('option', { value: '', text: 'all' }), ...names.map((n) => el('option', { value: n, text: n })));
      sel.value = names.includes(keep) ? keep : '';
    }
    $('endpoints').replaceChildren(...S.map.nodes.filter((n) => n.kind !== 'external').map((n) => el('option', { value: n.id })));
  }

  function renderStatus() {
    const s = S.status;
    const parts = [`${s.workloads} workloads`, `${s.namespaces} namespaces`, `${s.policies} policies`];
    if (s.capture) parts.push('capture');
    if (s.proposed) parts.push('proposal');
    if (REPORT) parts.push('report (offline)');
    else if (s.watch) parts.push('watching files');
    $('status').textContent = parts.join(' · ');
    const banner = $('banner');
    if (s.error) { banner.hidden = false; banner.textContent = `Reload failed; showing the last good model.\n${s.error}`; }
    else if (s.problems.length) { banner.hidden = false; banner.textContent = s.problems.join(''); }
    else banner.hidden = true;
    document.body.dataset.generation = String(s.generation);
  }

  async function refresh() {
    await loadAll();
    if (!document.body.dataset.loadedMs) document.body.dataset.loadedMs = String(Math.round(performance.now()));
    if (!S.expandedInit) {
      S.expandedInit = true;
      const groups = new Set(S.map.nodes.map(groupOf));
      if (S.map.nodes.length <= 150) groups.forEach((g) => S.expanded.add(g));
      // Many external ranges start folded into one node.
      if (S.map.nodes.filter((n) => !n.namespace).length > 6) S.expanded.delete('(external)');
      if (S.map.source === 'capture') $('map-show').value = 'observed';
    }
    S.mapEdgeMembers = [];
    fillSelectors();
    renderStatus();
    invalidate();
  }

  async function poll() {
    try {
      const status = await api('status');
      if (status.generation !== S.generation) {
        if (status.error && S.status) { S.status = status; S.generation = status.generation; renderStatus(); }
        else await refresh();
      }
    } catch (err) {
      $('status').textContent = 'server unreachable';
    }
    setTimeout(poll, 400);
  }

  function wire() {
    for (const v of VIEWS) $('tab-' + v).addEventListener('click', () => showView(v));
    document.querySelector('nav').addEventListener('keydown', (ev) => {
      const i = VIEWS.indexOf(S.view);
      if (ev.key === 'ArrowRight' || ev.key === 'ArrowLeft') {
        const next = VIEWS[(i + (ev.key === 'ArrowRight' ? 1 : VIEWS.length - 1)) % VIEWS.length];
        showView(next);
        $('tab-' + next).focus();
      }
    });
    for (const id of ['map-search', 'map-port']) $(id).addEventListener('input', () => { S.dirty.add('map'); renderView('map'); });
    for (const id of ['map-ns', 'map-outcome', 'map-show']) $(id).addEventListener('change', () => { S.dirty.add('map'); renderView('map'); });
    $('map-expand').addEventListener('click', () => { S.map.nodes.forEach((n) => S.expanded.add(groupOf(n))); S.dirty.add('map'); renderView('map'); });
    $('map-collapse').addEventListener('click', () => { S.expanded.clear(); S.dirty.add('map'); renderView('map'); });
    $('map-fit').addEventListener('click', () => S.cy && S.cy.fit(undefined, 20));
    $('matrix-go').addEventListener('click', loadMatrix);
    $('explain-form').addEventListener('submit', (ev) => { ev.preventDefault(); runExplain(); });
    $('timeline-clear').addEventListener('click', () => setRange(null));
    keyboardList($('map-edges').tBodies[0]);
    keyboardList($('timeline-sessions').tBodies[0]);
  }

  async function start() {
    wire();
    // cytoscape-dagre registers itself when cytoscape is a global; register it otherwise.
    try { cytoscape('layout', 'dagre') || cytoscape.use(cytoscapeDagre); } catch (err) { /* already registered */ }
    try {
      await refresh();
    } catch (err) {
      $('banner').hidden = false;
      $('banner').textContent = 'Cannot load: ' + (err.message || err);
      return;
    }
    document.body.dataset.ready = '1';
    if (!REPORT && S.status.watch) setTimeout(poll, 400);
  }

  window.palisade = { state: S, cy: () => S.cy, openExplain, setFocus, setRange, showView };
  start();
})();
