// Sites: every site of the federation in one table (state, free and total accelerators,
// utilisation, running and pending jobs, why it takes no jobs), updated from the live
// feed (and every 10 s from the API, for staleness and the agents' health reports). A stale site (unreachable, its capacity older than three heartbeats) has its
// counts greyed and says when it was last heard from.
import { api } from '../api.js';
import { h, clear, badge, fmtAge, scrollBox } from '../dom.js';
import { agentCell, agentKey } from './agent_health.js';

// Why the site takes no new jobs (or is not quite well), in words; '' when it takes jobs.
export function siteNotes(site) {
  const notes = [];
  if (site.drained) {
    notes.push(`Drained${site.drained_by ? ` by ${site.drained_by}` : ''}${site.drain_reason ? `: ${site.drain_reason}` : ''}`);
  }
  if (site.maintenance_active) {
    const w = (site.maintenance || []).find((m) => m.id === site.maintenance_active);
    notes.push(`Maintenance ${site.maintenance_active}${w && w.reason ? `: ${w.reason}` : ''}`);
  }
  if (site.degraded) notes.push(`Degraded${site.degraded_reason ? `: ${site.degraded_reason}` : ''}`);
  return notes.join('; ');
}

function utilisation(site) {
  const total = site.accelerators_total || 0;
  if (total === 0) return null;
  const pct = (100 * (total - (site.accelerators_free || 0))) / total;
  // A few accelerators of thousands in use is not "0 %".
  return pct > 0 && pct < 10 ? pct.toFixed(1) : String(Math.round(pct));
}

function lastHeard(site) {
  if (!site.last_heard_at) return 'never heard from';
  return `last heard ${fmtAge(Date.now() - site.last_heard_at)}`;
}

function siteRow(site) {
  const stale = site.stale === true;
  const count = (text) => h('td', { class: stale ? 'num stale-count' : 'num' }, text);
  const used = utilisation(site);
  const types = (site.accelerator_types || []).join(', ');
  return h('tr', { dataset: { site: site.id, state: site.state || 'unknown', stale: String(stale) } },
    h('th', { scope: 'row' }, h('a', { href: `#/sites/${encodeURIComponent(site.id)}` }, site.name || site.id),
      h('div', { class: 'muted small plain' }, [site.id, site.country].filter(Boolean).join(' · '))),
    h('td', { class: 'state' }, badge(site.state),
      stale ? h('div', { class: 'small stale-note' }, `stale: ${lastHeard(site)}`) : null),
    count(`${site.accelerators_free ?? 0} / ${site.accelerators_total ?? 0}`),
    h('td', { class: 'small' }, types || 'CPU'),
    count(used === null ? '—' : `${used} %`),
    count(String(site.running_jobs ?? 0)),
    count(String(site.pending_jobs ?? 0)),
    h('td', { class: 'small notes' }, siteNotes(site) || '—'),
    agentCell(site));
}

export async function render(root, ctx) {
  root.append(h('div', { class: 'page-head' }, h('h1', {}, 'Sites'),
    h('span', { class: 'muted', id: 'sites-summary', 'aria-live': 'polite' })));
  const tbody = h('tbody');
  root.append(scrollBox(h('table', { id: 'sites-table' },
    h('caption', { class: 'muted small' },
      'Every site, updated live. Greyed counts are stale: the site has not reported for more than three heartbeats.'),
    h('thead', {}, h('tr', {},
      h('th', { scope: 'col' }, 'Site'), h('th', { scope: 'col' }, 'State'),
      h('th', { scope: 'col', class: 'num' }, 'Accelerators free / total'), h('th', { scope: 'col' }, 'Types'),
      h('th', { scope: 'col', class: 'num' }, 'Utilisation'), h('th', { scope: 'col', class: 'num' }, 'Running'),
      h('th', { scope: 'col', class: 'num' }, 'Pending'), h('th', { scope: 'col' }, 'Drain, maintenance'),
      h('th', { scope: 'col' }, 'Agent'))),
    tbody), 'Sites'));

  const rows = new Map();
  const summary = () => {
    const sites = [...ctx.live.sites.values()];
    const up = sites.filter((s) => s.state === 'up').length;
    const stale = sites.filter((s) => s.stale === true).length;
    root.querySelector('#sites-summary').textContent =
      `${up} of ${sites.length} up${stale ? `, ${stale} stale` : ''}`;
  };
  const drawAll = () => {
    clear(tbody);
    rows.clear();
    for (const site of ctx.live.sites.values()) {
      const row = siteRow(site);
      rows.set(site.id, row);
      tbody.append(row);
    }
    summary();
  };
  const drawOne = (site) => {
    const row = siteRow(site);
    const old = rows.get(site.id);
    if (old) old.replaceWith(row);
    else tbody.append(row);
    rows.set(site.id, row);
    summary();
  };
  const offs = [ctx.live.on('sites', drawAll), ctx.live.on('site', drawOne)];
  if (ctx.live.sites.size > 0) drawAll();
  if (ctx.live.state !== 'live' || ctx.live.sites.size === 0) {
    // First paint from REST; the live feed's snapshot replaces it when it arrives.
    const [sites, fed] = await Promise.all([api('GET', '/api/v1/sites'), api('GET', '/api/v1/federation')]);
    ctx.live.seed(sites.sites || [], fed);
    if (rows.size === 0) drawAll();
  }
  // "last heard ... ago" of stale sites ages while the page is open.
  const ticker = setInterval(() => {
    for (const row of rows.values()) {
      const site = ctx.live.sites.get(row.dataset.site);
      const note = row.querySelector('.stale-note');
      if (site && note) note.textContent = `stale: ${lastHeard(site)}`;
    }
  }, 5000);
  // A site turns stale by the clock, with no event to say so: ask the API every 10 s
  // (while the page is shown) and pass on what changed as if the stream had sent it.
  const refresher = setInterval(async () => {
    if (document.visibilityState !== 'visible') return;
    try {
      const data = await api('GET', '/api/v1/sites');
      for (const s of data.sites || []) {
        const cur = ctx.live.sites.get(s.id);
        if (!cur || cur.stale !== s.stale || cur.state !== s.state || agentKey(cur) !== agentKey(s)) {
          ctx.live.handle({ type: 'site', site: s });
        }
      }
    } catch (e) {
      // The live indicator says when the coordinator is gone; try again next time.
    }
  }, 10000);
  return () => {
    clearInterval(ticker);
    clearInterval(refresher);
    offs.forEach((off) => off());
  };
}
