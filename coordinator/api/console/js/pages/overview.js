// Overview: federation totals and one card per site, updated from the live feed.
import { api } from '../api.js';
import { h, clear, badge, fmtAge } from '../dom.js';
import { acceleratorsByType, reportAgeMs } from '../live.js';

function bar(label, free, total) {
  const pct = total > 0 ? Math.round((free / total) * 100) : 0;
  const fill = h('div', { class: 'bar-fill' });
  fill.style.width = `${pct}%`;
  return h('div', { class: 'bar-row' },
    h('div', { class: 'bar-label' }, h('span', {}, label), h('span', { class: 'mono' }, `${free} / ${total} free`)),
    h('div', { class: 'bar', role: 'meter', 'aria-label': `${label} free`, 'aria-valuemin': 0,
      'aria-valuemax': total, 'aria-valuenow': free, 'aria-valuetext': `${free} of ${total} free` }, fill));
}

function siteState(site) {
  return site.state || 'unknown';
}

function siteCard(site) {
  const age = h('span', { class: 'report-age' }, fmtAge(reportAgeMs(site)));
  const card = h('article', { class: 'site-card', dataset: { site: site.id, state: siteState(site) },
    'aria-labelledby': `site-${site.id}-title` },
    h('header', {},
      h('h3', { id: `site-${site.id}-title` }, h('a', { href: `#/sites/${encodeURIComponent(site.id)}` }, site.name || site.id)),
      badge(siteState(site))),
    h('div', { class: 'where' }, [site.id, site.city, site.country].filter(Boolean).join(' · ')),
    acceleratorsByType(site).map((t) => bar(t.type, t.free, t.total)),
    h('dl', {},
      h('dt', {}, 'Report'), h('dd', {}, age),
      h('dt', {}, 'Running'), h('dd', { class: 'running' }, String(site.running_jobs ?? 0)),
      h('dt', {}, 'Queued'), h('dd', { class: 'queued' }, String(site.pending_jobs ?? 0)),
      h('dt', {}, 'Placed'), h('dd', {}, String(site.jobs_placed ?? 0)),
      site.drained ? [h('dt', {}, 'Drained'), h('dd', {}, 'takes no new jobs')] : null,
      site.degraded ? [h('dt', {}, 'Degraded'), h('dd', {}, site.degraded_reason || 'yes')] : null));
  card.ageEl = age;
  card.site = site;
  return card;
}

function total(label, value, extra) {
  return h('div', { class: 'total' }, h('div', { class: 'value' }, value), h('div', { class: 'label' }, label), extra || null);
}

function renderTotals(el, fed) {
  clear(el);
  if (!fed) return;
  const jobs = fed.jobs || {};
  const n = (k) => jobs[k] || 0;
  el.append(
    total('sites up', `${fed.sites_up ?? 0} / ${fed.sites_total ?? 0}`),
    total('accelerators free', `${fed.accelerators_free ?? 0} / ${fed.accelerators_total ?? 0}`),
    total('queued at the coordinator', String(n('queued') + n('dispatched'))),
    total('pending at sites', String(n('pending'))),
    total('running', String(n('running'))),
    total('completed', String(n('completed'))),
    total('failed or lost', String(n('failed') + n('timeout') + n('node_fail') + n('lost'))),
    total('policy', fed.policy || '—'));
}

export async function render(root, ctx) {
  const totals = h('section', { class: 'totals', 'aria-label': 'Federation totals', 'aria-live': 'polite', id: 'totals' });
  const grid = h('section', { class: 'sites', 'aria-label': 'Sites', id: 'site-cards' });
  const heading = h('h1', {}, 'Federation overview');
  root.append(h('div', { class: 'page-head' }, heading, h('span', { class: 'muted', id: 'fed-name' })), totals, grid);

  const cards = new Map();
  const drawAll = () => {
    clear(grid);
    cards.clear();
    for (const site of ctx.live.sites.values()) {
      const card = siteCard(site);
      cards.set(site.id, card);
      grid.append(card);
    }
  };
  const drawOne = (site) => {
    const card = siteCard(site);
    const old = cards.get(site.id);
    if (old) old.replaceWith(card);
    else grid.append(card);
    cards.set(site.id, card);
  };
  const drawFed = (fed) => {
    renderTotals(totals, fed);
    root.querySelector('#fed-name').textContent = fed && fed.name ? fed.name : '';
    document.getElementById('federation-name').textContent = fed && fed.name ? fed.name : '';
  };

  const offs = [
    ctx.live.on('sites', drawAll),
    ctx.live.on('site', drawOne),
    ctx.live.on('federation', drawFed),
  ];
  if (ctx.live.sites.size > 0) drawAll();
  if (ctx.live.federation) drawFed(ctx.live.federation);
  if (ctx.live.state !== 'live') {
    // First paint from REST; the live feed's snapshot replaces it when it arrives.
    const [sites, fed] = await Promise.all([api('GET', '/api/v1/sites'), api('GET', '/api/v1/federation')]);
    ctx.live.seed(sites.sites || [], fed);
    if (cards.size === 0) drawAll();
    drawFed(ctx.live.federation);
  }
  const ticker = setInterval(() => {
    for (const card of cards.values()) card.ageEl.textContent = fmtAge(reportAgeMs(card.site));
  }, 1000);
  return () => {
    clearInterval(ticker);
    offs.forEach((off) => off());
  };
}
