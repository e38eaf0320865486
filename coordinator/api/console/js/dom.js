// Small DOM helpers. Text always goes in through textContent, never innerHTML, so data
// from the API cannot inject markup.

// h('a', {href: '#/', class: 'x', onclick: fn}, 'text', child, ...)
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), value);
    } else if (key === 'class') {
      el.className = value;
    } else if (key === 'dataset') {
      Object.assign(el.dataset, value);
    } else if (value === true) {
      el.setAttribute(key, '');
    } else {
      el.setAttribute(key, String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function badge(state) {
  return h('span', { class: 'badge', dataset: { state: state || 'unknown' } }, state || 'unknown');
}

const pad2 = (n) => String(n).padStart(2, '0');

// Milliseconds since the epoch -> "2026-11-25 14:03:07" in local time; null -> "—".
export function fmtTime(ms) {
  if (ms === null || ms === undefined) return '—';
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ` +
    `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}

// Seconds -> "45 s", "12 min", "3.5 h".
export function fmtDuration(s) {
  if (s === null || s === undefined || Number.isNaN(s)) return '—';
  if (s < 90) return `${Math.round(s)} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

export function fmtAge(ms) {
  if (ms === null || ms === undefined) return 'never';
  if (ms < 10000) return `${(ms / 1000).toFixed(1)} s ago`;
  return `${fmtDuration(ms / 1000)} ago`;
}

export function fmtNumber(x, digits = 2) {
  if (x === null || x === undefined) return '—';
  if (typeof x !== 'number') return String(x);
  return Number.isInteger(x) ? String(x) : x.toFixed(digits);
}

// A table inside its own scrollable container: on a narrow screen the table scrolls
// sideways in its box and the page does not. The box is focusable (keyboard users can
// scroll it) and, when opts.label or opts.caption names it, a labelled region.
export function table(headers, rows, opts = {}) {
  const head = h('tr', {}, headers.map((c) =>
    h('th', { scope: 'col', class: c.num ? 'num' : undefined }, typeof c === 'string' ? c : c.label)));
  return scrollBox(h('table', opts.attrs || {},
    opts.caption ? h('caption', { class: 'muted small' }, opts.caption) : null,
    h('thead', {}, head), h('tbody', {}, rows)), opts.label || opts.caption);
}

// Wraps `el` (a table, a long block) in a focusable box that scrolls sideways.
export function scrollBox(el, label) {
  return h('div', { class: 'table-wrap', tabindex: 0, role: label ? 'region' : undefined,
    'aria-label': label || undefined }, el);
}

export function field(labelText, control, id) {
  control.id = id;
  return h('div', { class: 'field' }, h('label', { for: id }, labelText), control);
}

let toastTimer = null;
// A short message in the polite live region at the bottom right.
export function toast(text) {
  const el = document.getElementById('toast');
  el.textContent = text;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.textContent = ''; }, 5000);
}
