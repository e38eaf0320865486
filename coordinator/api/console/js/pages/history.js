// The history panel of the overview (federation totals) and of a site page: charts of
// GET /api/v1/history over a chosen window, refreshed every sample interval, and for a
// site its health timeline from GET /api/v1/sites/{id}/events.
import { api, query } from '../api.js';
import { h, clear } from '../dom.js';
import { timeChart, healthStrip, fmtWhen } from '../charts.js';

const WINDOWS = [
  { value: '3600', label: 'last hour' },
  { value: '21600', label: 'last 6 hours' },
  { value: '86400', label: 'last 24 hours' },
  { value: '604800', label: 'last 7 days' },
];

// Contiguous runs of stale points as bands [{from, to}] (a run ends at the next point).
function staleBands(points, label) {
  const bands = [];
  for (let i = 0; i < points.length; i++) {
    if (!points[i].stale) continue;
    const from = points[i].ms;
    while (i + 1 < points.length && points[i + 1].stale) i++;
    const to = i + 1 < points.length ? points[i + 1].ms : points[i].ms;
    bands.push({ from, to: Math.max(to, from + 1), cls: 'stale', label });
  }
  return bands;
}

// The series of one chart: `pick(point)` per point, null where the point is stale for a
// site (its figures are the last report's, never shown as current).
function series(points, label, cls, pick, kind = 'line', dropStale = false) {
  return { label, cls, kind, points: points.map((p) => ({ t: p.ms, v: dropStale && p.stale ? null : pick(p) })) };
}

function chartsFor(points, site, range, width, intervalS) {
  const staleLabel = site ? 'stale: unreachable, figures not current' : 'a site stale (left out of the totals)';
  const bands = staleBands(points, staleLabel);
  const common = { since: range.since, until: range.until, width, bands };
  const gap = Math.max(3 * intervalS * 1000, 3000);
  const withGap = (s) => ({ ...s, maxGap: gap });
  const util = (p) => (p.accelerators_total > 0 ? (100 * p.accelerators_used) / p.accelerators_total : 0);
  const charts = [
    timeChart({ ...common, id: `${site ? 'site' : 'fed'}-chart-util`, title: 'Utilisation (accelerators in use of total)', unit: '%', yMax: 100,
      series: [withGap(series(points, 'in use', 'c1', util, 'area', Boolean(site)))] }),
    timeChart({ ...common, id: `${site ? 'site' : 'fed'}-chart-free`, title: 'Free accelerators', unit: 'accelerators',
      series: [withGap(series(points, 'free', 'c2', (p) => p.accelerators_free, 'line', Boolean(site)))] }),
  ];
  if (site) {
    charts.push(
      timeChart({ ...common, id: 'site-chart-pending', title: 'Pending jobs', unit: 'jobs',
        series: [withGap(series(points, 'pending', 'c3', (p) => p.pending_jobs, 'line', true)),
          withGap(series(points, 'running', 'c4', (p) => p.running_jobs, 'line', true))] }),
      timeChart({ ...common, id: 'site-chart-nodeh', title: 'Pending node-hours', unit: 'node-h',
        series: [withGap(series(points, 'pending node-hours', 'c5', (p) => p.pending_node_hours, 'area', true))] }));
  } else {
    charts.push(timeChart({ ...common, id: 'fed-chart-queue', title: 'Queue length (jobs pending at the sites)', unit: 'jobs',
      series: [withGap(series(points, 'pending', 'c3', (p) => p.pending_jobs)),
        withGap(series(points, 'running', 'c4', (p) => p.running_jobs))] }));
  }
  return charts;
}

function eventList(events) {
  if (events.length === 0) return h('p', { class: 'muted', id: 'site-events' }, 'No state changes recorded.');
  return h('ol', { class: 'timeline', id: 'site-events', 'aria-label': 'State changes, newest first' },
    events.map((e) => h('li', { dataset: { to: e.to } },
      h('time', { datetime: e.t }, fmtWhen(Date.parse(e.t))),
      h('span', {}, `${e.from} → `), h('strong', {}, e.to),
      e.reason ? h('span', { class: 'event-reason' }, `: ${e.reason}`) : null,
      e.actor ? h('span', { class: 'muted' }, ` (by ${e.actor})`) : null)));
}

// {el, start(), stop()}: `site` null for the federation's totals.
export function historyPanel({ id, title, site, currentState }) {
  const selectId = `${id}-window`;
  const select = h('select', { id: selectId }, WINDOWS.map((w) => h('option', { value: w.value }, w.label)));
  const status = h('p', { class: 'muted small', role: 'status', id: `${id}-status` }, 'Loading history…');
  const grid = h('div', { class: 'chart-grid', id: `${id}-charts` });
  const strip = h('div', { class: 'strip-box', id: `${id}-strip` });
  const el = h('section', { class: 'panel history', id, 'aria-labelledby': `${id}-title` },
    h('div', { class: 'history-head' }, h('h2', { id: `${id}-title` }, title),
      h('div', { class: 'field inline-field' }, h('label', { for: selectId }, 'Window'), select)),
    status, site ? strip : null, grid);

  let timer = null;
  let stopped = false;
  let last = null;  // {points, events, range, intervalS}
  let drawnWidth = 0;

  const width = () => {
    const cell = grid.clientWidth || el.clientWidth || 600;
    const cols = cell >= 760 ? 2 : 1;
    return Math.floor((cell - (cols - 1) * 16) / cols);
  };
  const draw = () => {
    if (!last) return;
    drawnWidth = grid.clientWidth;
    const w = width();
    clear(grid);
    for (const c of chartsFor(last.points, site, last.range, w, last.intervalS)) grid.append(c);
    if (site) {
      clear(strip);
      strip.append(healthStrip({ title: 'Health timeline', events: last.events, since: last.range.since,
        until: last.range.until, current: currentState ? currentState() : 'unknown', width: grid.clientWidth || w }),
      eventList(last.events));
    }
  };
  const load = async () => {
    const seconds = Number(select.value);
    const until = Date.now();
    const since = until - seconds * 1000;
    const q = query({ site: site || '', since: new Date(since).toISOString(), until: new Date(until).toISOString() });
    const [hist, ev] = await Promise.all([
      api('GET', `/api/v1/history${q}`),
      site ? api('GET', `/api/v1/sites/${encodeURIComponent(site)}/events${query({ limit: 200 })}`) : Promise.resolve(null),
    ]);
    const points = (hist.points || []).map((p) => ({ ...p, ms: Date.parse(p.t) }));
    const intervalS = hist.interval_s || 60;
    // Samples began inside the window (a new coordinator): the time axis starts with them.
    const first = points.length ? points[0].ms : since;
    const shownSince = first > since + 3 * intervalS * 1000 ? first : since;
    last = { points, events: ev ? ev.events || [] : [], range: { since: shownSince, until }, intervalS };
    status.textContent = points.length === 0
      ? `No samples in this window yet (one every ${intervalS} s).`
      : `${points.length} samples, one every ${intervalS} s${shownSince > since ? `, since ${fmtWhen(first)} (when sampling began)` : ''}; ` +
        `latest ${fmtWhen(points[points.length - 1].ms)}.`;
    draw();
    return intervalS;
  };
  const schedule = (intervalS) => {
    if (stopped) return;
    const ms = Math.min(60000, Math.max(2000, intervalS * 1000));
    timer = setTimeout(() => { run(); }, ms);
  };
  const run = async () => {
    let interval = 60;
    try {
      interval = await load();
    } catch (e) {
      status.textContent = `History unavailable: ${e.message}`;
    }
    schedule(interval);
  };
  select.addEventListener('change', () => {
    clearTimeout(timer);
    run();
  });
  const resized = new ResizeObserver(() => {
    if (Math.abs(grid.clientWidth - drawnWidth) > 24) draw();
  });
  return {
    el,
    start() {
      resized.observe(grid);
      run();
    },
    stop() {
      stopped = true;
      clearTimeout(timer);
      resized.disconnect();
    },
  };
}
