// Overview: federation totals, the federation's history (utilisation, free accelerators,
// queue) and one card per site, updated from the live feed. A site whose figures are
// stale (unreachable, last report old) shows them greyed with when it was last heard.
import { api } from '../api.js';
import { h, clear, badge, fmtAge } from '../dom.js';
import { reportAgeMs } from '../live.js';
import { historyPanel } from './history.js';

// Accelerators per type from the site's partitions: [{type, total, used, free}].
function usageByType(site) {
  const byType = new Map();
  for (const p of site.partitions || []) {
    const nt = p.node_type || {};
    if (!nt.accelerator) continue;
    const per = nt.accelerators_per_node || 0;
    const cur = byType.get(nt.accelerator) || { type: nt.accelerator, total: 0, used: 0, free: 0 };
    cur.total += (p.nodes_total || 0) * per;
    cur.used += (p.nodes_allocated || 0) * per;
    cur.free += (p.nodes_idle || 0) * per;
    byType.set(nt.accelerator, cur);
  }
  if (byType.size === 0 && (site.accelerator_types || []).length > 0) {
    // Not reported yet: the configured total, nothing known in use.
    return [{ type: site.accelerator_types.join(', '), total: site.accelerators_total || 0, used: 0, free: 0, unknown: true }];
  }
  return [...byType.values()];
}

// Utilisation: the share of the type's accelerators in use (allocated nodes).
function bar(u, stale) {
  const pct = u.total > 0 ? Math.round((u.used / u.total) * 100) : 0;
  const fill = h('div', { class: 'bar-fill' });
  fill.style.width = `${pct}%`;
  const text = u.unknown ? `${u.total} (no report yet)` : `${u.used} / ${u.total} used · ${u.free} free`;
  const valueText = u.unknown ? `${u.total} accelerators, no report yet`
    : `${u.used} of ${u.total} in use (${pct} %), ${u.free} free${stale ? ', as last reported' : ''}`;
  return h('div', { class: `bar-row${stale ? ' stale' : ''}` },
    h('div', { class: 'bar-label' }, h('span', {}, u.type), h('span', { class: 'mono' }, text)),
    h('div', { class: 'bar', role: 'meter', 'aria-label': `${u.type} utilisation`, 'aria-valuemin': 0,
      'aria-valuemax': u.total, 'aria-valuenow': u.used, 'aria-valuetext': valueText }, fill));
}

// "last heard 3 min ago; figures as of then" (the site's last_heard_at, ticking).
function lastHeard(site) {
  const heard = site.last_heard_at;
  if (heard === null || heard === undefined) return 'never heard from; no current figures';
  return `last heard ${fmtAge(Date.now() - heard)}; figures as of then`;
}

function siteState(site) {
  return site.state || 'unknown';
}

function siteCard(site) {
  const stale = Boolean(site.stale);
  const age = h('span', { class: 'report-age' }, fmtAge(reportAgeMs(site)));
  const heard = stale ? h('p', { class: 'last-heard' }, lastHeard(site)) : null;
  const card = h('article', { class: `site-card${stale ? ' stale' : ''}`,
    dataset: { site: site.id, state: siteState(site), stale: stale ? 'true' : 'false' },
    'aria-labelledby': `site-${site.id}-title` },
    h('header', {},
      h('h3', { id: `site-${site.id}-title` }, h('a', { href: `#/sites/${encodeURIComponent(site.id)}` }, site.name || site.id)),
      badge(siteState(site))),
    h('div', { class: 'where' }, [site.id, site.city, site.country].filter(Boolean).join(' · ')),
    heard,
    usageByType(site).map((u) => bar(u, stale)),
    h('dl', { class: stale ? 'stale' : undefined },
      h('dt', {}, 'Report'), h('dd', {}, age),
      h('dt', {}, 'Running'), h('dd', { class: 'running' }, String(site.running_jobs ?? 0)),
      h('dt', {}, 'Queued'), h('dd', { class: 'queued' }, String(site.pending_jobs ?? 0)),
      h('dt', {}, 'Placed'), h('dd', {}, String(site.jobs_placed ?? 0)),
      site.drained ? [h('dt', {}, 'Drained'), h('dd', {}, 'takes no new jobs')] : null,
      site.degraded ? [h('dt', {}, 'Degraded'), h('dd', {}, site.degraded_reason || 'yes')] : null));
  card.ageEl = age;
  card.heardEl = heard;
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
  const history = historyPanel({ id: 'fed-history', title: 'Federation over time', site: null });
  root.append(h('div', { class: 'page-head' }, heading, h('span', { class: 'muted', id: 'fed-name' })), totals,
    history.el, h('h2', { class: 'sites-title' }, 'Sites'), grid);

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
    for (const card of cards.values()) {
      card.ageEl.textContent = fmtAge(reportAgeMs(card.site));
      if (card.heardEl) card.heardEl.textContent = lastHeard(card.site);
    }
  }, 1000);
  history.start();
  return () => {
    history.stop();
    clearInterval(ticker);
    offs.forEach((off) => off());
  };
}
