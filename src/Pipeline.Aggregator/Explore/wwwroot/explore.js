// The aggregator's explore page. It uses only the aggregator's public Loki API (same origin):
// query_range, labels, label/<name>/values, status/buildinfo and the tail websocket.
'use strict';

(function () {
  const API = '/loki/api/v1/';
  const RANGES = { '5m': 300, '1h': 3600, '6h': 21600, '24h': 86400 };
  const STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];
  const LIVE_CAP = 2000;
  const RENDER_BATCH = 1000;
  const LEVEL_COLORS = {
    critical: '#c4162a', fatal: '#c4162a', error: '#f2495c', warn: '#ff9830', info: '#73bf69',
    debug: '#5794f2', trace: '#b877d9', unknown: '#8e9099',
  };
  const LEVEL_ORDER = ['critical', 'fatal', 'error', 'warn', 'info', 'debug', 'trace'];
  const PALETTE = ['#7eb26d', '#eab839', '#6ed0e0', '#ef843c', '#e24d42', '#1f78c1', '#ba43a9', '#705da0',
    '#508642', '#cca300', '#447ebc', '#c15c17', '#890f02', '#0a437c', '#6d1f62', '#584477'];

  const $ = (id) => document.getElementById(id);
  const el = {
    query: $('query'), form: $('query-form'), range: $('range'), custom: $('custom-range'), from: $('from'), to: $('to'),
    limit: $('limit'), live: $('live'), pause: $('pause'), error: $('error'), tenant: $('tenant'), token: $('token'),
    labelNames: $('label-names'), labelValues: $('label-values'), valuesTitle: $('values-title'), status: $('status'),
    volumePanel: $('volume-panel'), volume: $('volume'), volumeLegend: $('volume-legend'), chartPanel: $('chart-panel'),
    chart: $('chart'), chartLegend: $('chart-legend'), tailStatus: $('tail-status'), lines: $('lines'), older: $('older'),
    tooltip: $('tooltip'), server: $('server'),
  };

  const state = {
    run: 0,            // id of the newest run; older responses are ignored
    entries: [],       // shown log entries, newest first
    rowOf: new WeakMap(),
    lastLog: null,     // { query, startNs, endNs, limit } of the shown log result, for "load older"
    volume: null,      // last volume data (redrawn on resize)
    matrix: null,      // last metric chart data
    hits: new Map(),   // canvas -> hit tester
    live: null,        // { socket, paused, buffer, query }
    selectedName: null,
  };

  // ---------- API ----------

  function headers() {
    const h = {};
    const tenant = el.tenant.value.trim();
    const token = el.token.value.trim();
    if (tenant) { h['X-Scope-OrgID'] = tenant; }
    if (token) { h.Authorization = 'Bearer ' + token; }
    return h;
  }

  class ApiError extends Error { }

  async function api(path, params) {
    const url = API + path + (params ? '?' + new URLSearchParams(params).toString() : '');
    let response;
    try {
      response = await fetch(url, { headers: headers(), cache: 'no-store' });
    } catch (e) {
      throw new ApiError('request failed: ' + e.message);
    }
    const text = await response.text();
    if (!response.ok) {
      // The API's own words (a LogQL parse error, a limit), as it says them.
      throw new ApiError(text.trim() || (response.status + ' ' + response.statusText));
    }
    const json = JSON.parse(text);
    if (json.status && json.status !== 'success') {
      throw new ApiError(json.error || text);
    }
    return json;
  }

  // ---------- time ----------

  const NS_PER_MS = 1000000n;
  const nowNs = () => BigInt(Date.now()) * NS_PER_MS;

  function timeRange() {
    const kind = el.range.value;
    if (kind !== 'custom') {
      const end = nowNs();
      return { startNs: end - BigInt(RANGES[kind]) * 1000000000n, endNs: end };
    }
    const from = Date.parse(el.from.value);
    const to = el.to.value ? Date.parse(el.to.value) : Date.now();
    if (!Number.isFinite(from) || !Number.isFinite(to) || from >= to) {
      throw new ApiError('custom time range: choose a "from" before "to"');
    }
    return { startNs: BigInt(from) * NS_PER_MS, endNs: BigInt(to) * NS_PER_MS };
  }

  function toLocalInput(ms) {
    const d = new Date(ms);
    const p = (n) => String(n).padStart(2, '0');
    return d.getFullYear() + '-' + p(d.getMonth() + 1) + '-' + p(d.getDate()) + 'T' + p(d.getHours()) + ':' + p(d.getMinutes()) + ':' + p(d.getSeconds());
  }

  function formatTs(ns) {
    const ms = Number(BigInt(ns) / NS_PER_MS);
    const d = new Date(ms);
    const p = (n, w) => String(n).padStart(w || 2, '0');
    return d.getFullYear() + '-' + p(d.getMonth() + 1) + '-' + p(d.getDate()) + ' ' + p(d.getHours()) + ':' + p(d.getMinutes()) + ':' + p(d.getSeconds()) + '.' + p(d.getMilliseconds(), 3);
  }

  // Timestamps are decimal ns strings; compare without losing precision.
  function compareTs(a, b) {
    return a.length !== b.length ? a.length - b.length : a < b ? -1 : a > b ? 1 : 0;
  }

  function chooseStep(seconds) {
    const wanted = seconds / 120;
    return STEPS.find((s) => s >= wanted) || Math.ceil(wanted / 86400) * 86400;
  }

  // ---------- URL ----------

  function writeUrl(push) {
    const params = new URLSearchParams();
    params.set('query', el.query.value);
    if (el.range.value === 'custom') {
      params.set('from', String(Date.parse(el.from.value)));
      params.set('to', String(el.to.value ? Date.parse(el.to.value) : Date.now()));
    } else {
      params.set('from', 'now-' + el.range.value);
      params.set('to', 'now');
    }
    params.set('limit', el.limit.value);
    const url = '/?' + params.toString();
    if (url === location.pathname + location.search) { return; }
    if (push) { history.pushState(null, '', url); } else { history.replaceState(null, '', url); }
  }

  function parseTimeParam(value) {
    if (!value) { return null; }
    if (/^\d+$/.test(value)) { return Number(value.length > 13 ? value.slice(0, 13) : value); }
    const relative = /^now-(\d+)([smhd])$/.exec(value);
    if (relative) { return Date.now() - Number(relative[1]) * { s: 1e3, m: 6e4, h: 3.6e6, d: 8.64e7 }[relative[2]]; }
    if (value === 'now') { return Date.now(); }
    const parsed = Date.parse(value);
    return Number.isFinite(parsed) ? parsed : null;
  }

  /** Loads the form from the URL; returns whether it holds a query to run. */
  function readUrl() {
    const params = new URLSearchParams(location.search);
    const query = params.get('query');
    el.query.value = query || '';
    const from = params.get('from');
    const to = params.get('to') || 'now';
    const relative = from && /^now-(5m|1h|6h|24h)$/.exec(from);
    if (relative && to === 'now') {
      el.range.value = relative[1];
    } else if (from) {
      const f = parseTimeParam(from);
      const t = parseTimeParam(to);
      if (f !== null && t !== null) {
        el.range.value = 'custom';
        el.from.value = toLocalInput(f);
        el.to.value = toLocalInput(t);
      }
    }
    const limit = Number(params.get('limit'));
    if (limit > 0) { el.limit.value = String(Math.min(limit, 5000)); }
    el.custom.hidden = el.range.value !== 'custom';
    autosize();
    return Boolean(query && query.trim());
  }

  // ---------- errors and status ----------

  function showError(message) {
    el.error.textContent = message;
    el.error.hidden = !message;
    el.query.classList.toggle('invalid', Boolean(message));
  }

  function setStatus(text) { el.status.textContent = text; }

  // ---------- selector building ----------

  const MATCHER = /\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*("(?:[^"\\]|\\.)*"|`[^`]*`)\s*,?/y;

  /** Splits a leading {...} selector into matchers and the rest of the query; null when the query has none. */
  function parseSelector(query) {
    const text = query.trimStart();
    if (!text.startsWith('{')) { return null; }
    const matchers = [];
    MATCHER.lastIndex = 1;
    let m;
    let pos = 1;
    while ((m = MATCHER.exec(text)) !== null) {
      matchers.push({ name: m[1], op: m[2], value: m[3] });
      pos = MATCHER.lastIndex;
    }
    const close = /^\s*\}/.exec(text.slice(pos));
    if (!close) { return null; }
    return { matchers, rest: text.slice(pos + close[0].length) };
  }

  function unquote(value) {
    if (value.startsWith('`')) { return value.slice(1, -1); }
    try { return JSON.parse(value); } catch { return value.slice(1, -1); }
  }

  function selectedValues() {
    const parsed = parseSelector(el.query.value);
    const result = new Map();
    if (parsed) {
      for (const m of parsed.matchers) { if (m.op === '=') { result.set(m.name, unquote(m.value)); } }
    }
    return result;
  }

  /** Adds name="value" to the query's selector (replacing that label's matcher), or removes it when already there. */
  function toggleMatcher(name, value) {
    const parsed = parseSelector(el.query.value);
    const quoted = JSON.stringify(value);
    if (!parsed) {
      el.query.value = '{' + name + '=' + quoted + '}';
      return;
    }
    const existing = parsed.matchers.findIndex((m) => m.name === name && m.op === '=');
    if (existing >= 0 && unquote(parsed.matchers[existing].value) === value && parsed.matchers.length > 1) {
      parsed.matchers.splice(existing, 1);
    } else if (existing >= 0) {
      parsed.matchers[existing].value = quoted;
    } else {
      parsed.matchers.push({ name, op: '=', value: quoted });
    }
    el.query.value = '{' + parsed.matchers.map((m) => m.name + m.op + m.value).join(', ') + '}' + parsed.rest;
  }

  // ---------- label browser ----------

  function chip(text, selected, onClick, dataset) {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'chip' + (selected ? ' selected' : '');
    b.textContent = text;
    b.title = text;
    Object.assign(b.dataset, dataset);
    b.addEventListener('click', onClick);
    return b;
  }

  function rangeParams() {
    const { startNs, endNs } = timeRange();
    return { start: startNs.toString(), end: endNs.toString() };
  }

  async function loadLabels() {
    try {
      const json = await api('labels', rangeParams());
      const names = (json.data || []).filter((n) => !n.startsWith('__'));
      const selected = selectedValues();
      const fragment = document.createDocumentFragment();
      for (const name of names) {
        fragment.append(chip(name, selected.has(name) || name === state.selectedName, () => loadValues(name), { label: name }));
      }
      el.labelNames.replaceChildren(fragment);
      if (names.length === 0) { el.labelNames.textContent = 'No labels in this time range.'; }
      if (state.selectedName && names.includes(state.selectedName)) { await loadValues(state.selectedName); }
    } catch (e) {
      el.labelNames.textContent = e.message;
    }
  }

  async function loadValues(name) {
    state.selectedName = name;
    for (const b of el.labelNames.children) { b.classList.toggle('selected', b.dataset.label === name || selectedValues().has(b.dataset.label)); }
    el.valuesTitle.hidden = false;
    el.valuesTitle.textContent = 'Values of ' + name;
    try {
      const json = await api('label/' + encodeURIComponent(name) + '/values', rangeParams());
      const current = selectedValues().get(name);
      const fragment = document.createDocumentFragment();
      for (const value of json.data || []) {
        fragment.append(chip(value, value === current, () => {
          toggleMatcher(name, value);
          autosize();
          run(true);
        }, { value }));
      }
      el.labelValues.replaceChildren(fragment);
    } catch (e) {
      el.labelValues.textContent = e.message;
    }
  }

  // ---------- running a query ----------

  async function run(push) {
    const query = el.query.value.trim();
    const id = ++state.run;
    if (!query) {
      showError('Enter a LogQL query, e.g. {app="api"}, or pick a label on the left.');
      return;
    }
    let range;
    try {
      range = timeRange();
    } catch (e) {
      showError(e.message);
      return;
    }
    writeUrl(push);
    showError('');
    document.body.dataset.state = 'running';
    setStatus('Running…');
    const limit = Math.max(1, Math.min(5000, Number(el.limit.value) || 1000));
    const seconds = Number((range.endNs - range.startNs) / 1000000000n);
    const step = chooseStep(seconds);
    const started = performance.now();
    try {
      if (query.startsWith('{')) {
        await runLogQuery(id, query, range, limit, step, started);
      } else {
        await runMetricQuery(id, query, range, step, started);
      }
    } catch (e) {
      if (id === state.run) {
        showError(e.message);
        setStatus('');
      }
    } finally {
      if (id === state.run) { document.body.dataset.state = 'idle'; }
    }
    if (id === state.run) {
      if (state.live && state.live.query !== query) { startLive(); }
      loadLabels();
    }
  }

  function stepAligned(range, step) {
    const stepNs = BigInt(step) * 1000000000n;
    const start = (range.startNs / stepNs) * stepNs;
    const end = ((range.endNs + stepNs - 1n) / stepNs) * stepNs;
    return { start, end };
  }

  async function runLogQuery(id, query, range, limit, step, started) {
    const aligned = stepAligned(range, step);
    const volumeQuery = 'sum by (level, detected_level) (count_over_time(' + query + ' [' + step + 's]))';
    const [logs, volume] = await Promise.allSettled([
      api('query_range', { query, start: range.startNs.toString(), end: range.endNs.toString(), limit: String(limit), direction: 'backward' }),
      api('query_range', { query: volumeQuery, start: aligned.start.toString(), end: aligned.end.toString(), step: step + 's' }),
    ]);
    if (id !== state.run) { return; }
    if (logs.status === 'rejected') { throw logs.reason; }
    if (logs.value.data.resultType !== 'streams') {
      throw new ApiError('expected a log query result, got ' + logs.value.data.resultType);
    }
    el.chartPanel.hidden = true;
    state.matrix = null;
    const entries = flatten(logs.value.data.result);
    state.lastLog = { query, startNs: range.startNs, endNs: range.endNs, limit };
    showEntries(entries, false);
    el.older.hidden = entries.length < limit;
    el.older.disabled = false;
    el.older.textContent = 'Load older';
    const ms = Math.round(performance.now() - started);
    setStatus(entries.length + ' lines, newest first · ' + ms + ' ms' + (entries.length >= limit ? ' · limit of ' + limit + ' reached' : ''));
    if (volume.status === 'fulfilled') {
      drawVolume(volume.value.data.result, aligned, step);
    } else {
      el.volumePanel.hidden = false;
      state.volume = null;
      el.volume.dataset.bars = '0';
      el.volumeLegend.textContent = 'Log volume unavailable: ' + volume.reason.message;
    }
  }

  async function runMetricQuery(id, query, range, step, started) {
    const aligned = stepAligned(range, step);
    const json = await api('query_range', { query, start: aligned.start.toString(), end: aligned.end.toString(), step: step + 's' });
    if (id !== state.run) { return; }
    const data = json.data;
    el.volumePanel.hidden = true;
    state.volume = null;
    showEntries([], false);
    el.older.hidden = true;
    state.lastLog = null;
    if (data.resultType === 'streams') {
      throw new ApiError('expected a metric result, got streams');
    }
    const result = data.resultType === 'vector'
      ? data.result.map((r) => ({ metric: r.metric, values: [r.value] }))
      : data.result;
    const series = result.map((r, i) => ({
      name: seriesName(r.metric),
      color: PALETTE[i % PALETTE.length],
      visible: true,
      points: r.values.map((v) => [Number(v[0]), Number(v[1])]),
    }));
    state.matrix = { start: Number(aligned.start / 1000000000n), end: Number(aligned.end / 1000000000n), step, series };
    el.chartPanel.hidden = false;
    drawMatrix();
    renderLegend(el.chartLegend, series, () => drawMatrix());
    const ms = Math.round(performance.now() - started);
    setStatus(series.length + ' series · step ' + step + 's · ' + ms + ' ms');
  }

  function seriesName(metric) {
    const keys = Object.keys(metric || {});
    if (keys.length === 0) { return '{}'; }
    return '{' + keys.map((k) => k + '=' + JSON.stringify(metric[k])).join(', ') + '}';
  }

  // ---------- charts ----------

  function levelColor(level, i) {
    return LEVEL_COLORS[level] || PALETTE[i % PALETTE.length];
  }

  function drawVolume(result, aligned, step) {
    const first = Number(aligned.start / 1000000000n);
    const last = Number(aligned.end / 1000000000n);
    const buckets = Math.round((last - first) / step) + 1;
    const byLevel = new Map();
    for (const r of result) {
      const level = normalizeLevel((r.metric && (r.metric.level || r.metric.detected_level)) || '') || 'unknown';
      let values = byLevel.get(level);
      if (!values) { values = new Array(buckets).fill(0); byLevel.set(level, values); }
      for (const [t, v] of r.values) {
        const i = Math.round((Number(t) - first) / step);
        if (i >= 0 && i < buckets) { values[i] += Number(v); }
      }
    }
    const levels = [...byLevel.keys()].sort((a, b) => rank(a) - rank(b));
    const groups = levels.map((level, i) => ({ name: level, color: levelColor(level, i), values: byLevel.get(level), visible: true }));
    // A point at t counts (t - step, t]: its bar covers that interval.
    state.volume = { start: first - step, end: last - step, step, groups };
    el.volumePanel.hidden = false;
    redrawVolume();
    renderLegend(el.volumeLegend, groups, () => redrawVolume());
  }

  function rank(level) {
    const i = LEVEL_ORDER.indexOf(level);
    return i < 0 ? (level === 'unknown' ? 100 : 50) : i;
  }

  function redrawVolume() {
    if (!state.volume) { return; }
    const v = state.volume;
    const chart = window.ExploreChart.drawBars(el.volume, { ...v, groups: v.groups.filter((g) => g.visible) });
    el.volume.dataset.bars = String(chart.bars);
    state.hits.set(el.volume, chart.hit);
  }

  function drawMatrix() {
    if (!state.matrix) { return; }
    const chart = window.ExploreChart.drawLines(el.chart, state.matrix);
    el.chart.dataset.series = String(state.matrix.series.filter((s) => s.visible).length);
    el.chart.dataset.points = String(chart.points);
    state.hits.set(el.chart, chart.hit);
  }

  function renderLegend(container, items, redraw) {
    const fragment = document.createDocumentFragment();
    for (const item of items) {
      const entry = document.createElement('span');
      entry.className = 'legend-item';
      const swatch = document.createElement('span');
      swatch.className = 'swatch';
      swatch.style.background = item.color;
      const name = document.createElement('span');
      name.textContent = item.name;
      entry.append(swatch, name);
      entry.title = 'Click to hide or show';
      entry.addEventListener('click', () => {
        item.visible = !item.visible;
        entry.classList.toggle('off', !item.visible);
        redraw();
      });
      fragment.append(entry);
    }
    container.replaceChildren(fragment);
  }

  function hover(event) {
    const hit = state.hits.get(event.currentTarget);
    const text = hit ? hit(event.clientX, event.clientY) : null;
    if (!text) { el.tooltip.hidden = true; return; }
    el.tooltip.textContent = text;
    el.tooltip.hidden = false;
    const x = Math.min(event.clientX + 14, window.innerWidth - el.tooltip.offsetWidth - 8);
    el.tooltip.style.left = x + 'px';
    el.tooltip.style.top = (event.clientY + 14) + 'px';
  }

  // ---------- log lines ----------

  function labelsKey(labels) {
    return Object.keys(labels).sort().map((k) => k + '=' + labels[k]).join(',');
  }

  /** Streams -> entries, newest first. */
  function flatten(streams) {
    const entries = [];
    for (const s of streams) {
      const labels = s.stream || {};
      const key = labelsKey(labels);
      for (const v of s.values) {
        entries.push({ ts: v[0], line: v[1], labels, key, meta: v[2] || null });
      }
    }
    entries.sort((a, b) => compareTs(b.ts, a.ts));
    return entries;
  }

  const LEVEL_IN_LINE = /\b(?:level|lvl|severity)"?\s*[=:]\s*"?([A-Za-z]+)/i;
  const LEVEL_WORD = /\b(CRITICAL|FATAL|ERROR|ERR|WARNING|WARN|INFO|DEBUG|TRACE)\b/;

  function normalizeLevel(value) {
    const v = String(value).toLowerCase();
    switch (v) {
      case 'err': case 'eror': return 'error';
      case 'warning': return 'warn';
      case 'crit': return 'critical';
      case 'information': case 'notice': return 'info';
      case 'dbg': return 'debug';
      case 'trc': return 'trace';
      default: return v;
    }
  }

  function levelOf(entry) {
    const fromLabels = entry.labels.level || entry.labels.detected_level
      || (entry.meta && entry.meta.structuredMetadata && (entry.meta.structuredMetadata.level || entry.meta.structuredMetadata.detected_level));
    if (fromLabels) { return normalizeLevel(fromLabels); }
    const head = entry.line.length > 512 ? entry.line.slice(0, 512) : entry.line;
    const m = LEVEL_IN_LINE.exec(head) || LEVEL_WORD.exec(head);
    return m ? normalizeLevel(m[1]) : 'unknown';
  }

  function rowFor(entry, fresh) {
    const row = document.createElement('div');
    row.className = 'row lvl-' + levelOf(entry) + (fresh ? ' new' : '');
    row.setAttribute('role', 'listitem');
    const ts = document.createElement('span');
    ts.className = 'ts';
    ts.textContent = formatTs(entry.ts);
    const msg = document.createElement('span');
    msg.className = 'msg';
    msg.textContent = entry.line;
    row.append(ts, msg);
    state.rowOf.set(row, entry);
    return row;
  }

  /** Replaces (or, with append, extends) the shown lines; rows are built in DocumentFragment batches, one reflow each. */
  function showEntries(entries, append) {
    if (!append) {
      state.entries = [];
      el.lines.replaceChildren();
    }
    state.entries.push(...entries);
    let i = 0;
    const batch = () => {
      const fragment = document.createDocumentFragment();
      const end = Math.min(i + RENDER_BATCH, entries.length);
      for (; i < end; i++) { fragment.append(rowFor(entries[i], false)); }
      el.lines.append(fragment);
      el.lines.dataset.count = String(el.lines.childElementCount);
      if (i < entries.length) { requestAnimationFrame(batch); }
    };
    batch();
  }

  function toggleDetails(row) {
    const open = row.querySelector('.details');
    if (open) { open.remove(); return; }
    const entry = state.rowOf.get(row);
    if (!entry) { return; }
    const details = document.createElement('div');
    details.className = 'details';
    const add = (k, v) => {
      const key = document.createElement('span');
      key.className = 'k';
      key.textContent = k;
      const value = document.createElement('span');
      value.className = 'v';
      value.textContent = v;
      details.append(key, value);
    };
    const section = (title) => {
      const s = document.createElement('span');
      s.className = 'section';
      s.textContent = title;
      details.append(s);
    };
    section('Labels');
    for (const k of Object.keys(entry.labels).sort()) { add(k, entry.labels[k]); }
    if (entry.meta) {
      for (const [group, fields] of Object.entries(entry.meta)) {
        if (fields && typeof fields === 'object' && Object.keys(fields).length) {
          section(group);
          for (const k of Object.keys(fields).sort()) { add(k, fields[k]); }
        }
      }
    }
    section('Entry');
    add('timestamp (ns)', entry.ts);
    add('level', levelOf(entry));
    details.addEventListener('click', (e) => e.stopPropagation());
    row.append(details);
  }

  async function loadOlder() {
    const last = state.lastLog;
    if (!last || state.entries.length === 0) { return; }
    const oldest = state.entries[state.entries.length - 1].ts;
    // End is exclusive: ask up to and including the oldest shown timestamp, then skip what is already shown there.
    const seen = new Set();
    for (let i = state.entries.length - 1; i >= 0 && state.entries[i].ts === oldest; i--) {
      const e = state.entries[i];
      seen.add(e.key + '\u0000' + e.line);
    }
    el.older.disabled = true;
    el.older.textContent = 'Loading…';
    // The lines already shown at that timestamp come again: ask for that many more (within the API's default maximum).
    const limit = last.limit + seen.size <= 5000 ? last.limit + seen.size : last.limit;
    try {
      const json = await api('query_range', {
        query: last.query, start: last.startNs.toString(), end: (BigInt(oldest) + 1n).toString(), limit: String(limit), direction: 'backward',
      });
      const entries = flatten(json.data.result).filter((e) => e.ts !== oldest || !seen.has(e.key + '\u0000' + e.line));
      showEntries(entries, true);
      setStatus(state.entries.length + ' lines, newest first');
      el.older.hidden = entries.length === 0;
      if (entries.length === 0) { setStatus(state.entries.length + ' lines, newest first · no older lines in the range'); }
    } catch (e) {
      showError(e.message);
    } finally {
      el.older.disabled = false;
      el.older.textContent = 'Load older';
    }
  }

  // ---------- live tail ----------

  function startLive() {
    stopLive(true);
    const query = el.query.value.trim();
    if (!query.startsWith('{')) {
      showError('Live tail needs a log query (one that starts with a {selector}).');
      setLiveButtons(false);
      return;
    }
    const newest = state.entries.length ? BigInt(state.entries[0].ts) + 1n : nowNs();
    const start = newest > nowNs() - 3600n * 1000000000n ? newest : nowNs();
    const params = new URLSearchParams({ query, start: start.toString(), limit: String(Math.min(Number(el.limit.value) || 100, 5000)) });
    // A websocket cannot carry headers: the aggregator takes the tenant and token from the query string for tail.
    if (el.tenant.value.trim()) { params.set('X-Scope-OrgID', el.tenant.value.trim()); }
    if (el.token.value.trim()) { params.set('token', el.token.value.trim()); }
    const scheme = location.protocol === 'https:' ? 'wss://' : 'ws://';
    const socket = new WebSocket(scheme + location.host + API + 'tail?' + params.toString());
    const live = { socket, paused: false, buffer: [], query, received: 0, opened: false };
    state.live = live;
    setLiveButtons(true);
    const browserLimits = '';
    tailStatus('Connecting…' + browserLimits);
    socket.addEventListener('open', () => {
      live.opened = true;
      tailStatus('Live: following new lines (keeping the newest ' + LIVE_CAP + ')' + browserLimits);
    });
    socket.addEventListener('message', (event) => {
      if (state.live !== live) { return; }
      let message;
      try { message = JSON.parse(event.data); } catch { return; }
      const entries = flatten(message.streams || []);
      live.received += entries.length;
      if (live.paused) {
        live.buffer = entries.concat(live.buffer).slice(0, LIVE_CAP);
        tailStatus('Paused · ' + live.buffer.length + (live.buffer.length === 1 ? ' new line waiting' : ' new lines waiting') + (message.dropped_entries ? ' · server dropped some' : ''));
      } else {
        prependEntries(entries);
        tailStatus('Live: ' + plural(live.received, 'new line') + ' (keeping the newest ' + LIVE_CAP + ')' + browserLimits);
      }
    });
    socket.addEventListener('close', (event) => {
      if (state.live !== live) { return; }
      state.live = null;
      setLiveButtons(false);
      tailStatus(live.opened
        ? 'Live tail stopped' + (event.reason ? ': ' + event.reason : '')
        : 'Live tail could not connect: the server refused the websocket (run the query to see its error).');
    });
  }

  function stopLive(quiet) {
    const live = state.live;
    state.live = null;
    if (live) {
      live.socket.close(1000, 'stopped');
      if (live.buffer.length) { prependEntries(live.buffer); }
    }
    setLiveButtons(false);
    if (!quiet) { tailStatus(''); }
  }

  function plural(n, word) { return n + ' ' + word + (n === 1 ? '' : 's'); }

  function tailStatus(text) {
    el.tailStatus.textContent = text;
    el.tailStatus.hidden = !text;
  }

  function setLiveButtons(on) {
    el.live.setAttribute('aria-pressed', String(on));
    el.live.textContent = on ? 'Live ●' : 'Live';
    el.pause.hidden = !on;
    el.pause.setAttribute('aria-pressed', 'false');
    el.pause.textContent = 'Pause';
  }

  function togglePause() {
    const live = state.live;
    if (!live) { return; }
    live.paused = !live.paused;
    el.pause.setAttribute('aria-pressed', String(live.paused));
    el.pause.textContent = live.paused ? 'Resume' : 'Pause';
    if (!live.paused) {
      prependEntries(live.buffer);
      live.buffer = [];
      tailStatus('Live: ' + plural(live.received, 'new line') + ' (keeping the newest ' + LIVE_CAP + ')');
    } else {
      tailStatus('Paused');
    }
  }

  /** New lines on top, one fragment per message; the oldest rows beyond the cap are dropped. */
  function prependEntries(entries) {
    if (entries.length === 0) { return; }
    const fresh = entries.slice(0, LIVE_CAP);
    const fragment = document.createDocumentFragment();
    for (const e of fresh) { fragment.append(rowFor(e, true)); }
    el.lines.prepend(fragment);
    state.entries = fresh.concat(state.entries);
    const excess = state.entries.length - LIVE_CAP;
    if (excess > 0) {
      state.entries.length = LIVE_CAP;
      for (let i = 0; i < excess; i++) { el.lines.lastElementChild.remove(); }
    }
    el.lines.dataset.count = String(el.lines.childElementCount);
  }

  // ---------- wiring ----------

  function autosize() {
    el.query.style.height = 'auto';
    el.query.style.height = Math.min(el.query.scrollHeight + 2, 200) + 'px';
  }

  function init() {
    el.tenant.value = localStorage.getItem('explore.tenant') || '';
    el.token.value = sessionStorage.getItem('explore.token') || '';
    el.tenant.addEventListener('change', () => { localStorage.setItem('explore.tenant', el.tenant.value.trim()); loadLabels(); });
    el.token.addEventListener('change', () => { sessionStorage.setItem('explore.token', el.token.value.trim()); loadLabels(); });

    el.form.addEventListener('submit', (e) => { e.preventDefault(); run(true); });
    el.query.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        run(true);
      }
    });
    el.query.addEventListener('input', autosize);
    el.range.addEventListener('change', () => {
      if (el.range.value === 'custom' && !el.from.value) {
        el.from.value = toLocalInput(Date.now() - 3600000);
        el.to.value = toLocalInput(Date.now());
      }
      el.custom.hidden = el.range.value !== 'custom';
      if (el.query.value.trim()) { run(true); } else { loadLabels(); }
    });
    el.lines.addEventListener('click', (e) => {
      const row = e.target.closest('.row');
      if (row && !window.getSelection().toString()) { toggleDetails(row); }
    });
    el.older.addEventListener('click', loadOlder);
    el.live.addEventListener('click', () => { if (state.live) { stopLive(false); } else { showError(''); startLive(); } });
    el.pause.addEventListener('click', togglePause);
    for (const canvas of [el.volume, el.chart]) {
      canvas.addEventListener('mousemove', hover);
      canvas.addEventListener('mouseleave', () => { el.tooltip.hidden = true; });
    }
    let resize = 0;
    window.addEventListener('resize', () => {
      cancelAnimationFrame(resize);
      resize = requestAnimationFrame(() => { redrawVolume(); drawMatrix(); });
    });
    window.addEventListener('popstate', () => { if (readUrl()) { run(false); } });

    fetch(API + 'status/buildinfo').then((r) => r.ok ? r.json() : null).then((info) => {
      if (info && info.version) { el.server.textContent = 'aggregator ' + info.version; }
    }).catch(() => { });

    document.body.dataset.state = 'idle';
    if (readUrl()) { run(false); } else { loadLabels(); }
    el.query.focus();
  }

  init();
})();
