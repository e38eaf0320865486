// Small SVG charts for the console's history (docs/console.md, "History"): a time chart
// of one or more line or area series with axes, tick values and units, and a health
// timeline strip. No library, nothing from another origin; colours come from classes in
// console.css (CSP allows no inline style).
//
// Accessible: each chart is an SVG with role="img" and an aria-label summing it up
// (first, last, lowest and highest value), followed by a visually hidden table of the
// values it shows, so a screen reader gets the numbers, not a picture.
//
//   timeChart({ title: 'Utilisation', unit: '%', yMax: 100, width: 600,
//     since, until, series: [{ label: 'used of total', kind: 'area', cls: 'c1',
//     points: [{ t: ms, v: 42 }, ...] }], bands: [{ from, to, cls: 'stale', label }] })

// The SVG namespace, as the HTML parser assigns it to an <svg> tag (so no URL is spelled
// out here: the console names no other origin, and console_test checks that).
let svgNamespace = null;
function svgNs() {
  if (!svgNamespace) svgNamespace = new DOMParser().parseFromString('<svg></svg>', 'text/html').body.firstChild.namespaceURI;
  return svgNamespace;
}
const pad2 = (n) => String(n).padStart(2, '0');

function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(svgNs(), tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  for (const c of children) if (c) el.append(typeof c === 'string' ? document.createTextNode(c) : c);
  return el;
}

function html(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null) continue;
    if (k === 'class') el.className = v;
    else el.setAttribute(k, String(v));
  }
  for (const c of children) if (c !== null && c !== undefined) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

// 1, 2, 2.5 or 5 times a power of ten: the step of about `count` ticks up to `max`.
export function niceStep(max, count = 4) {
  if (!(max > 0)) return 1;
  const raw = max / count;
  const pow = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * pow >= raw) return m * pow;
  return 10 * pow;
}

// Tick values 0, step, ... covering `max`; whole steps for counts (`integer`).
export function yTicks(max, count = 4, integer = false) {
  let step = niceStep(max, count);
  if (integer) step = Math.max(1, Math.ceil(step));
  const top = Math.max(step, Math.ceil(max / step) * step);
  const ticks = [];
  for (let v = 0; v <= top + step / 2; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

// Instants for the time axis: whole minutes, hours or days, about `count` of them.
export function timeTicks(since, until, count = 5) {
  const span = Math.max(1, until - since);
  const steps = [1e3, 2e3, 5e3, 10e3, 15e3, 20e3, 30e3, 60e3, 120e3, 300e3, 600e3, 900e3, 1800e3, 3600e3,
    7200e3, 10800e3, 21600e3, 43200e3, 86400e3, 172800e3];
  const step = steps.find((s) => span / s <= count) || 86400e3 * Math.ceil(span / 86400e3 / count);
  const offset = new Date(since).getTimezoneOffset() * 60e3;  // ticks on local whole units
  const first = Math.ceil((since - offset) / step) * step + offset;
  const ticks = [];
  for (let t = first; t <= until; t += step) ticks.push(t);
  return { ticks, step };
}

// "14:05", "14:05:30" (steps under a minute), or "Dec 7" (steps of a day or more).
export function fmtTick(ms, step) {
  const d = new Date(ms);
  if (step >= 86400e3) return d.toLocaleDateString(undefined, { month: 'short', day: 'numeric' });
  const hm = `${pad2(d.getHours())}:${pad2(d.getMinutes())}`;
  return step < 60e3 ? `${hm}:${pad2(d.getSeconds())}` : hm;
}

// "2026-12-07 14:05:30" in local time.
export function fmtWhen(ms) {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}

export function fmtValue(v, unit) {
  if (v === null || v === undefined || Number.isNaN(v)) return '—';
  const text = Number.isInteger(v) ? String(v) : v.toFixed(Math.abs(v) < 10 ? 1 : 0);
  return unit === '%' ? `${text} %` : unit ? `${text} ${unit}` : text;
}

function describe(title, unit, series) {
  const parts = [];
  for (const s of series) {
    const vals = s.points.filter((p) => p.v !== null && p.v !== undefined).map((p) => p.v);
    if (vals.length === 0) {
      parts.push(`${s.label}: no samples`);
      continue;
    }
    parts.push(`${s.label}: now ${fmtValue(vals[vals.length - 1], unit)}, lowest ${fmtValue(Math.min(...vals), unit)}, ` +
      `highest ${fmtValue(Math.max(...vals), unit)} over ${vals.length} samples`);
  }
  return `${title}. ${parts.join('; ')}.`;
}

// At most `n` rows of the data, evenly picked (the last always), as a hidden table.
function dataTable(title, unit, series, n = 12) {
  const times = series[0] ? series[0].points.map((p) => p.t) : [];
  const pick = [];
  const step = Math.max(1, Math.ceil(times.length / n));
  for (let i = 0; i < times.length; i += step) pick.push(i);
  if (times.length > 0 && pick[pick.length - 1] !== times.length - 1) pick.push(times.length - 1);
  return html('table', { class: 'visually-hidden' },
    html('caption', {}, `${title} (${unit || 'count'}), sampled values`),
    html('thead', {}, html('tr', {}, html('th', { scope: 'col' }, 'Time'),
      ...series.map((s) => html('th', { scope: 'col' }, s.label)))),
    html('tbody', {}, ...pick.map((i) => html('tr', {}, html('th', { scope: 'row' }, fmtWhen(times[i])),
      ...series.map((s) => html('td', {}, fmtValue(s.points[i] ? s.points[i].v : null, unit)))))));
}

const MARGIN = { top: 10, right: 12, bottom: 26, left: 46 };

// A chart of `series` over [since, until]: returns a <figure class="chart">.
export function timeChart({ title, unit = '', series, since, until, yMax, width = 600, height = 180, bands = [], id }) {
  const w = Math.max(200, Math.round(width));
  const h = height;
  const iw = w - MARGIN.left - MARGIN.right;
  const ih = h - MARGIN.top - MARGIN.bottom;
  const all = series.flatMap((s) => s.points.map((p) => p.v)).filter((v) => typeof v === 'number');
  const top = yMax !== undefined ? yMax : Math.max(1, ...all);
  const ticks = yTicks(top, 4, all.every((v) => Number.isInteger(v)) && unit !== '%');
  const ymax = ticks[ticks.length - 1];
  const x = (t) => MARGIN.left + ((t - since) / Math.max(1, until - since)) * iw;
  const y = (v) => MARGIN.top + ih - (v / ymax) * ih;
  const label = describe(title, unit, series);
  const root = svg('svg', { viewBox: `0 0 ${w} ${h}`, width: w, height: h, role: 'img', 'aria-label': label, class: 'chart-svg' });
  root.append(svg('title', {}, label));
  for (const b of bands) {
    const x0 = Math.max(MARGIN.left, x(b.from));
    const x1 = Math.min(MARGIN.left + iw, x(b.to));
    if (x1 > x0) root.append(svg('rect', { x: x0, y: MARGIN.top, width: x1 - x0, height: ih, class: `band band-${b.cls}` }));
  }
  for (const v of ticks) {
    root.append(svg('line', { x1: MARGIN.left, x2: MARGIN.left + iw, y1: y(v), y2: y(v), class: 'grid' }));
    root.append(svg('text', { x: MARGIN.left - 6, y: y(v) + 4, 'text-anchor': 'end', class: 'tick y-tick' }, fmtValue(v, unit === '%' ? '%' : '')));
  }
  const tt = timeTicks(since, until, Math.max(2, Math.floor(iw / 90)));
  for (const t of tt.ticks) {
    root.append(svg('line', { x1: x(t), x2: x(t), y1: MARGIN.top + ih, y2: MARGIN.top + ih + 4, class: 'axis' }));
    root.append(svg('text', { x: x(t), y: h - 8, 'text-anchor': 'middle', class: 'tick x-tick' }, fmtTick(t, tt.step)));
  }
  root.append(svg('line', { x1: MARGIN.left, x2: MARGIN.left + iw, y1: MARGIN.top + ih, y2: MARGIN.top + ih, class: 'axis' }));
  root.append(svg('line', { x1: MARGIN.left, x2: MARGIN.left, y1: MARGIN.top, y2: MARGIN.top + ih, class: 'axis' }));
  for (const s of series) {
    // A gap (null) or a jump of more than 3 intervals breaks the line.
    const runs = [];
    let run = [];
    for (const p of s.points) {
      const gap = run.length > 0 && s.maxGap && p.t - run[run.length - 1].t > s.maxGap;
      if (p.v === null || p.v === undefined || gap) {
        if (run.length) runs.push(run);
        run = [];
      }
      if (p.v !== null && p.v !== undefined) run.push(p);
    }
    if (run.length) runs.push(run);
    for (const r of runs) {
      const line = r.map((p, i) => `${i ? 'L' : 'M'}${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join('');
      if (s.kind === 'area') {
        const base = y(0).toFixed(1);
        root.append(svg('path', { d: `${line}L${x(r[r.length - 1].t).toFixed(1)},${base}L${x(r[0].t).toFixed(1)},${base}Z`, class: `area ${s.cls}` }));
      }
      root.append(svg('path', { d: r.length === 1 ? `${line}h0.1` : line, class: `line ${s.cls}` }));
    }
  }
  const unitText = unit ? ` (${unit})` : '';
  const legend = html('ul', { class: 'chart-legend' },
    ...series.map((s) => html('li', {}, html('span', { class: `swatch ${s.cls}`, 'aria-hidden': 'true' }), s.label)),
    ...bands.filter((b, i) => bands.findIndex((o) => o.cls === b.cls) === i)
      .map((b) => html('li', {}, html('span', { class: `swatch band-${b.cls}`, 'aria-hidden': 'true' }), b.label)));
  return html('figure', { class: 'chart', id },
    html('figcaption', {}, title, html('span', { class: 'muted small' }, unitText)),
    html('div', { class: 'chart-box' }, root), legend, dataTable(title, unit, series));
}

// Segments of a site's state over [since, until] from its events (newest first, as the
// API answers) and its state now: [{from, to, state, event}].
export function stateSegments(events, since, until, current) {
  const asc = events.slice().map((e) => ({ ...e, ms: Date.parse(e.t) })).sort((a, b) => a.ms - b.ms);
  const inside = asc.filter((e) => e.ms > since && e.ms <= until);
  const before = asc.filter((e) => e.ms <= since);
  let state = before.length ? before[before.length - 1].to : inside.length ? inside[0].from : current;
  let from = since;
  const segments = [];
  for (const e of inside) {
    if (e.ms > from) segments.push({ from, to: e.ms, state });
    state = e.to;
    from = e.ms;
  }
  segments.push({ from, to: until, state });
  return segments;
}

// The health timeline: a strip coloured by state, with a tick per event.
export function healthStrip({ title, events, since, until, current, width = 600 }) {
  const w = Math.max(200, Math.round(width));
  const h = 46;
  const left = MARGIN.left;
  const iw = w - left - MARGIN.right;
  const x = (t) => left + ((t - since) / Math.max(1, until - since)) * iw;
  const segs = stateSegments(events, since, until, current);
  const inside = events.filter((e) => { const ms = Date.parse(e.t); return ms > since && ms <= until; });
  const summary = `${title}: ${segs.map((s) => `${s.state} from ${fmtWhen(s.from)}`).join(', ')}; ` +
    `${inside.length} state change${inside.length === 1 ? '' : 's'} in the window.`;
  const root = svg('svg', { viewBox: `0 0 ${w} ${h}`, width: w, height: h, role: 'img', 'aria-label': summary, class: 'chart-svg strip' });
  root.append(svg('title', {}, summary));
  for (const s of segs) {
    const x0 = x(s.from);
    const x1 = x(s.to);
    if (x1 - x0 < 0.5) continue;
    root.append(svg('rect', { x: x0, y: 4, width: x1 - x0, height: 18, class: `state state-${s.state}` },
      svg('title', {}, `${s.state} from ${fmtWhen(s.from)}`)));
  }
  for (const e of inside) {
    const ex = x(Date.parse(e.t));
    root.append(svg('line', { x1: ex, x2: ex, y1: 2, y2: 24, class: 'event-mark' }));
  }
  const tt = timeTicks(since, until, Math.max(2, Math.floor(iw / 90)));
  for (const t of tt.ticks) root.append(svg('text', { x: x(t), y: h - 6, 'text-anchor': 'middle', class: 'tick x-tick' }, fmtTick(t, tt.step)));
  const states = [...new Set(segs.map((s) => s.state))];
  return html('figure', { class: 'chart strip-figure' },
    html('figcaption', {}, title),
    html('div', { class: 'chart-box' }, root),
    html('ul', { class: 'chart-legend' }, ...states.map((s) => html('li', {}, html('span', { class: `swatch state-${s}`, 'aria-hidden': 'true' }), s))));
}
