// Site detail: state, drain (who, when, why), maintenance windows, history (charts and
// health timeline), partitions, recent jobs, and drain/resume and windows for roles that
// may. Stale figures (the site unreachable, its report old) are greyed and dated.
import { api, query } from '../api.js';
import { h, clear, badge, fmtTime, fmtAge, table, field, toast } from '../dom.js';
import { reportAgeMs } from '../live.js';
import { maintenancePanel } from './site_maintenance.js';
import { historyPanel } from './history.js';
import { agentPanel, agentKey } from './agent_health.js';

// The state the health timeline shows now (as the site events name states).
function shownState(site) {
  if (site.state !== 'up' && site.state !== 'draining') return site.state || 'unknown';
  return site.maintenance_active ? 'maintenance' : site.state;
}

// "yes, by alice at 2026-12-07 09:12:00: cooling repair — takes no new jobs".
function drainText(site) {
  if (!site.drained) return 'no';
  let text = 'yes';
  if (site.drained_by) text += `, by ${site.drained_by}`;
  if (site.drained_at) text += ` at ${fmtTime(site.drained_at)}`;
  if (site.drain_reason) text += `: ${site.drain_reason}`;
  return `${text} — takes no new jobs`;
}

function partitionsTable(site) {
  const parts = site.partitions || [];
  if (parts.length === 0) return h('p', { class: 'muted' }, 'No capacity report yet.');
  return table(
    ['Partition', 'Accelerator', { label: 'Per node', num: true }, { label: 'Nodes', num: true },
      { label: 'Idle', num: true }, { label: 'Allocated', num: true }, { label: 'Down', num: true },
      { label: 'Draining', num: true }, { label: 'Running', num: true }, { label: 'Pending', num: true },
      { label: 'Pending node-h', num: true }],
    parts.map((p) => {
      const nt = p.node_type || {};
      const n = (v) => h('td', { class: 'num' }, String(v ?? 0));
      return h('tr', {}, h('th', { scope: 'row' }, p.name), h('td', {}, nt.accelerator || 'CPU'),
        n(nt.accelerators_per_node), n(p.nodes_total), n(p.nodes_idle), n(p.nodes_allocated), n(p.nodes_down),
        n(p.nodes_draining), n(p.running_jobs), n(p.pending_jobs),
        h('td', { class: 'num' }, typeof p.pending_node_hours === 'number' ? p.pending_node_hours.toFixed(1) : '0'));
    }), { attrs: { id: 'partitions' } });
}

export async function render(root, ctx, params) {
  const id = params.id;
  const head = h('div', { class: 'page-head' });
  const info = h('section', { class: 'panel', 'aria-labelledby': 'site-info-title' });
  const parts = h('section', { class: 'panel', 'aria-labelledby': 'parts-title' });
  const jobsBox = h('section', { class: 'panel', 'aria-labelledby': 'recent-title' });
  const maint = h('div', {});
  const agentBox = h('div', {});
  let site = null;
  const history = historyPanel({ id: 'site-history', title: 'History', site: id,
    currentState: () => (site ? shownState(site) : 'unknown') });
  root.append(head, info, agentBox, maint, history.el, parts, jobsBox);

  const drawSite = () => {
    clear(head);
    clear(info);
    clear(parts);
    head.append(h('h1', {}, site.name || site.id), h('span', { id: 'site-state' }, badge(site.state)),
      h('span', { class: 'muted' }, [site.id, site.city, site.country].filter(Boolean).join(' · ')));
    const stale = Boolean(site.stale);
    const asOf = stale ? ' (as last reported, not current)' : '';
    info.append(h('h2', { id: 'site-info-title' }, 'Status'),
      ...(stale ? [h('p', { class: 'last-heard', id: 'site-stale' },
        site.last_heard_at ? `Last heard ${fmtAge(Date.now() - site.last_heard_at)} (${fmtTime(site.last_heard_at)}): the figures below are as of then.`
          : 'Never heard from: no current figures.')] : []),
      h('dl', { class: stale ? 'kv stale' : 'kv' },
        h('dt', {}, 'State'), h('dd', {}, site.state),
        h('dt', {}, 'Drained'), h('dd', { id: 'site-drained' }, drainText(site)),
        site.maintenance_active ? [h('dt', {}, 'Maintenance'),
          h('dd', { id: 'site-maintenance' }, `${site.maintenance_active} in force: no new jobs`)] : null,
        h('dt', {}, 'Last report'), h('dd', {}, fmtAge(reportAgeMs(site))),
        h('dt', {}, 'Last heard'), h('dd', {}, fmtTime(site.last_heard_at)),
        h('dt', {}, 'Accelerators free'), h('dd', { class: stale ? 'stale-value' : undefined }, `${site.accelerators_free ?? 0} / ${site.accelerators_total ?? 0}${asOf}`),
        h('dt', {}, 'Nodes idle'), h('dd', { class: stale ? 'stale-value' : undefined }, `${site.nodes_idle ?? 0} / ${site.nodes_total ?? 0}${asOf}`),
        h('dt', {}, 'Jobs placed here'), h('dd', { id: 'site-placed' }, String(site.jobs_placed ?? 0)),
        h('dt', {}, 'Reserved nodes'), h('dd', {}, String(site.reserved_nodes ?? 0)),
        h('dt', {}, 'Agent'), h('dd', {}, site.agent_version || '—'),
        site.degraded ? [h('dt', {}, 'Degraded'), h('dd', {}, site.degraded_reason || 'yes')] : null));
    if (ctx.can.drain(site.id)) info.append(drainForm());
    clear(agentBox);
    agentBox.append(agentPanel(site));
    clear(maint);
    maint.append(maintenancePanel(site, ctx.can.drain(site.id), reload));
    parts.append(h('h2', { id: 'parts-title' }, 'Partitions'), partitionsTable(site));
  };

  const reload = async () => {
    site = await api('GET', `/api/v1/sites/${encodeURIComponent(id)}`);
    site.received_at = Date.now();
    drawSite();
  };

  const drainForm = () => {
    const draining = site.drained;
    const reason = h('input', { name: 'reason', size: 40, required: !draining,
      placeholder: draining ? 'optional' : 'e.g. maintenance window until 18:00' });
    const button = h('button', { type: 'submit', class: draining ? 'btn' : 'btn btn-danger', id: draining ? 'resume-site' : 'drain-site' },
      draining ? 'Resume site' : 'Drain site');
    const error = h('p', { class: 'error-box', role: 'alert' });
    const form = h('form', { class: 'actions', 'aria-label': draining ? 'Resume this site' : 'Drain this site' },
      field(draining ? 'Reason for resuming' : 'Reason for draining', reason, 'drain-reason'), button, error);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      button.disabled = true;
      error.textContent = '';
      const action = draining ? 'resume' : 'drain';
      try {
        const body = reason.value.trim() ? { reason: reason.value.trim() } : {};
        await api('POST', `/api/v1/sites/${encodeURIComponent(site.id)}/${action}`, body);
        toast(`${site.id} ${draining ? 'resumed' : 'drained'}.`);
        site = await api('GET', `/api/v1/sites/${encodeURIComponent(id)}`);
        site.received_at = Date.now();
        drawSite();
        document.getElementById(draining ? 'drain-site' : 'resume-site')?.focus();
      } catch (e) {
        error.textContent = `${action} refused: ${e.message}`;
        button.disabled = false;
      }
    });
    return form;
  };

  const drawJobs = async () => {
    // Jobs come newest first (the list's default order): the first 20.
    const data = await api('GET', `/api/v1/jobs${query({ site: id, limit: 20 })}`);
    const jobs = data.jobs || [];
    clear(jobsBox);
    jobsBox.append(h('h2', { id: 'recent-title' }, 'Recent jobs'),
      jobs.length === 0 ? h('p', { class: 'muted' }, 'No jobs placed here yet.') : table(
        ['Id', 'Name', 'State', 'Project', 'Submitted'],
        jobs.map((j) => h('tr', {},
          h('td', {}, h('a', { href: `#/jobs/${encodeURIComponent(j.id)}`, class: 'mono' }, j.id)),
          h('td', {}, (j.spec || {}).name || ''), h('td', {}, badge(j.state)),
          h('td', {}, (j.spec || {}).project || '—'), h('td', {}, fmtTime(j.submitted_at)))),
        { attrs: { id: 'recent-jobs' } }),
      h('p', {}, h('a', { href: `#/jobs${query({ site: id })}` }, 'All jobs at this site')));
  };

  site = await api('GET', `/api/v1/sites/${encodeURIComponent(id)}`);
  site.received_at = Date.now();
  drawSite();
  await drawJobs();
  history.start();

  let jobsTimer = null;
  const offs = [
    ctx.live.on('site', (s) => {
      if (s.id !== id) return;
      const typing = ['drain-reason', 'maint-start', 'maint-end', 'maint-reason'];
      const focused = document.activeElement && typing.includes(document.activeElement.id);
      if (focused) return;  // do not redraw under someone typing a reason
      site = s;
      drawSite();
    }),
    ctx.live.on('job', (ev) => {
      if (!ev.job || ev.job.site !== id || jobsTimer) return;
      jobsTimer = setTimeout(() => { jobsTimer = null; drawJobs().catch(console.error); }, 500);
    }),
  ];
  // Health reports come with every heartbeat but send no event unless the backend's
  // state changes: read the site again every 10 s (while shown) for the outbox and times.
  const agentTimer = setInterval(async () => {
    if (document.visibilityState !== 'visible') return;
    const typing = ['drain-reason', 'maint-start', 'maint-end', 'maint-reason'];
    if (document.activeElement && typing.includes(document.activeElement.id)) return;
    try {
      const fresh = await api('GET', `/api/v1/sites/${encodeURIComponent(id)}`);
      if (agentKey(fresh) === agentKey(site)) {
        site.agent = fresh.agent;
        clear(agentBox);
        agentBox.append(agentPanel(site));
        return;
      }
      site = fresh;
      site.received_at = Date.now();
      drawSite();
    } catch (e) {
      // The live indicator says when the coordinator is gone; try again next time.
    }
  }, 10000);
  return () => {
    clearInterval(agentTimer);
    history.stop();
    offs.forEach((off) => off());
    clearTimeout(jobsTimer);
  };
}
