// The site agent's own health as the site JSON carries it (`agent`: version, whether its
// local scheduler answers, its last successful scheduler command, its outbox depth, when
// it reported; null until an agent reported it): a cell of the sites table and a panel
// of the site page. A backend that is down, or a report older than three heartbeats, is
// shown with the warning style (class `agent-warn`, a "Backend down" / "Report stale" badge).
import { h, fmtAge, fmtTime } from '../dom.js';

// 'none' (no report), 'down' (the backend did not answer), 'stale' (the report is old),
// or 'ok'. Down wins over stale: an old report that said "down" is still the last word.
export function agentHealthState(site) {
  const a = site.agent;
  if (!a) return 'none';
  if (a.backend_ok === false) return 'down';
  if (a.stale === true) return 'stale';
  return 'ok';
}

const badgeText = { ok: 'Backend up', down: 'Backend down', stale: 'Report stale' };
const badgeState = { ok: 'ok', down: 'error', stale: 'degraded' };

function healthBadge(state) {
  return h('span', { class: 'badge', dataset: { state: badgeState[state] } }, badgeText[state]);
}

function lastSuccess(a) {
  return a.last_backend_ok_at ? fmtAge(Date.now() - a.last_backend_ok_at) : 'not since the agent started';
}

// What changes what the table or the panel shows (the refresher compares it).
export function agentKey(site) {
  const a = site.agent;
  if (!a) return '';
  return [a.version, a.backend_ok, a.backend_error, a.outbox_depth, a.stale].join('|');
}

// The sites table's "Agent" cell.
export function agentCell(site) {
  const state = agentHealthState(site);
  const a = site.agent;
  if (state === 'none') {
    return h('td', { class: 'small agent', dataset: { agent: 'none' } },
      site.agent_version ? `${site.agent_version} · no health report` : '—');
  }
  return h('td', { class: state === 'ok' ? 'small agent' : 'small agent agent-warn', dataset: { agent: state } },
    healthBadge(state), ' ', h('span', { class: 'mono' }, a.version || '—'),
    h('div', {}, `outbox ${a.outbox_depth ?? 0} · last backend success ${lastSuccess(a)}`),
    state === 'down' && a.backend_error ? h('div', { class: 'agent-error' }, a.backend_error) : null,
    state === 'stale' ? h('div', {}, `reported ${fmtAge(Date.now() - a.reported_at)}`) : null);
}

// The site page's "Agent" panel.
export function agentPanel(site) {
  const state = agentHealthState(site);
  const a = site.agent;
  const section = h('section', { class: state === 'down' || state === 'stale' ? 'panel agent-warn' : 'panel',
    id: 'site-agent', 'aria-labelledby': 'site-agent-title', dataset: { agent: state } },
  h('h2', { id: 'site-agent-title' }, 'Agent'));
  if (state === 'none') {
    section.append(h('p', { class: 'muted' },
      'The agent has not reported its health (not connected since the coordinator started, or an agent version that does not report it).'));
    return section;
  }
  if (state === 'down') {
    section.append(h('p', { class: 'agent-alert', role: 'status' },
      `The local scheduler is not answering the agent: ${a.backend_error || 'no reason given'}. The site takes no new jobs until it answers.`));
  } else if (state === 'stale') {
    section.append(h('p', { class: 'agent-alert', role: 'status' },
      `This report is ${fmtAge(Date.now() - a.reported_at)} old: the agent has not reported since, the figures may no longer hold.`));
  }
  section.append(h('dl', { class: 'kv' },
    h('dt', {}, 'Version'), h('dd', { id: 'agent-version', class: 'mono' }, a.version || '—'),
    h('dt', {}, 'Backend'), h('dd', { id: 'agent-backend' }, healthBadge(state === 'stale' ? (a.backend_ok ? 'ok' : 'down') : state),
      a.backend_error ? ` ${a.backend_error}` : ''),
    h('dt', {}, 'Last successful backend command'), h('dd', { id: 'agent-last-ok', title: fmtTime(a.last_backend_ok_at) }, lastSuccess(a)),
    h('dt', {}, 'Outbox depth'), h('dd', { id: 'agent-outbox' },
      `${a.outbox_depth ?? 0} message${a.outbox_depth === 1 ? '' : 's'} waiting for the coordinator's acknowledgement`),
    h('dt', {}, 'Reported'), h('dd', { id: 'agent-reported', title: fmtTime(a.reported_at) }, fmtAge(Date.now() - a.reported_at))));
  return section;
}
