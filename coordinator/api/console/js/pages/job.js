// Job detail: the spec, a timeline, where its output is and its tail (job_output.js),
// and the placement explanation of its latest decision (GET /api/v1/jobs/{id}/explain):
// every site, with the filter that rejected it or the raw value, score and weight each
// scoring plugin gave it.
import { api } from '../api.js';
import { h, clear, badge, fmtTime, fmtNumber, fmtDuration, table, toast } from '../dom.js';
import { outputPanel } from './job_output.js';

const ENDED = new Set(['completed', 'failed', 'cancelled', 'timeout', 'node_fail', 'lost']);

function specList(spec) {
  const items = [];
  const add = (k, v) => { if (v !== undefined && v !== null && v !== '' && !(Array.isArray(v) && v.length === 0)) items.push([k, v]); };
  add('Name', spec.name);
  add('Project', spec.project);
  add('User', spec.user);
  add('Nodes', spec.nodes);
  add('GPUs per node', spec.gpus_per_node);
  add('GPU type', spec.gpu_type);
  add('Cores per node', spec.cores_per_node || null);
  add('Memory per node', spec.memory_gib_per_node ? `${spec.memory_gib_per_node} GiB` : null);
  add('Walltime', spec.walltime_s ? fmtDuration(spec.walltime_s) : null);
  add('Priority', spec.priority);
  add('Allowed sites', (spec.allowed_sites || []).join(', '));
  add('Allowed countries', (spec.allowed_countries || []).join(', '));
  add('Preferred sites', (spec.preferred_sites || []).join(', '));
  add('Data sets', (spec.datasets || []).map((d) => d.size_gb ? `${d.id} (${d.size_gb} GB)` : d.id).join(', '));
  add('Requeue on site loss', spec.requeue_on_site_loss === undefined ? null : spec.requeue_on_site_loss ? 'yes' : 'no');
  add('Work dir', spec.workdir);
  add('Environment', Object.entries(spec.env || {}).map(([k, v]) => `${k}=${v}`).join(' '));
  add('Simulated runtime', spec.simulated_runtime_s ? fmtDuration(spec.simulated_runtime_s) : null);
  const dl = h('dl', { class: 'kv' }, items.map(([k, v]) => [h('dt', {}, k), h('dd', {}, String(v))]));
  return [dl, spec.script ? [h('h3', { class: 'small muted' }, 'Script'), h('pre', { class: 'script', tabindex: 0, role: 'region', 'aria-label': 'The job script' }, spec.script)] : null];
}

function timeline(job, transitions) {
  const steps = [
    ['submitted', job.submitted_at],
    ['dispatched to ' + (job.site || 'a site'), job.dispatched_at],
    ['started', job.started_at],
    [`ended: ${job.state}${job.exit_code !== null && job.exit_code !== undefined ? ` (exit ${job.exit_code})` : ''}`, job.ended_at],
  ].filter(([, t]) => t !== null && t !== undefined);
  const live = transitions.map((t) => [`${t.from || 'new'} → ${t.to} (seen live)`, t.at]);
  const all = [...steps, ...live].sort((a, b) => a[1] - b[1]);
  return h('ol', { class: 'timeline', id: 'job-timeline' },
    all.map(([text, at]) => h('li', {}, h('time', { datetime: new Date(at).toISOString() }, fmtTime(at)), text)));
}

function explanation(ex) {
  const box = h('section', { class: 'panel', 'aria-labelledby': 'explain-title', id: 'explanation' },
    h('h2', { id: 'explain-title' }, ex.question === 'why-not-yet' ? 'Why is it not placed yet?' : 'Why this site?'));
  const d = ex.decision;
  if (!d) {
    box.append(h('p', { class: 'muted' }, 'No placement decision has been recorded for this job yet.'));
    return box;
  }
  box.append(
    h('p', { class: 'summary' }, d.summary || ''),
    h('p', { class: 'muted small' },
      `Policy ${d.policy}${d.policy_version ? ` v${d.policy_version}` : ''}, attempt ${d.attempt}, decided ${fmtTime(d.decided_at)}.` +
      (d.chosen_site ? ` Chosen: ${d.chosen_site}.` : ' No site chosen.')));
  // Every plugin that scored any site, in first-seen order, becomes a column.
  const plugins = [];
  for (const s of d.sites || []) for (const t of s.scores || []) if (!plugins.includes(t.plugin)) plugins.push(t.plugin);
  const headers = ['Site', 'Verdict', 'Filter / reason', 'Partition', { label: 'Est. start', num: true },
    ...plugins.map((p) => ({ label: p, num: true })), { label: 'Total', num: true }];
  const rows = (d.sites || []).map((s) => {
    const byPlugin = new Map((s.scores || []).map((t) => [t.plugin, t]));
    const feasible = s.verdict !== 'rejected';
    return h('tr', { dataset: { site: s.site, verdict: s.verdict } },
      h('th', { scope: 'row' }, h('a', { href: `#/sites/${encodeURIComponent(s.site)}` }, s.site)),
      h('td', {}, badge(s.verdict)),
      h('td', {}, s.rejected_by ? [h('strong', {}, s.rejected_by), ': '] : null, s.reason || ''),
      h('td', {}, feasible ? s.partition || '' : '—'),
      h('td', { class: 'num' }, feasible ? fmtDuration(s.estimated_start_s) : '—'),
      plugins.map((p) => {
        const t = byPlugin.get(p);
        if (!t) return h('td', { class: 'num' }, '—');
        return h('td', { class: 'num', title: `raw ${fmtNumber(t.raw)} ${t.unit || ''}; score ${fmtNumber(t.score)} × weight ${fmtNumber(t.weight)}` },
          h('div', {}, `${fmtNumber(t.score, 1)} × ${fmtNumber(t.weight)}`),
          h('div', { class: 'muted small' }, `raw ${fmtNumber(t.raw)} ${t.unit || ''}`));
      }),
      h('td', { class: 'num' }, feasible ? h('strong', {}, fmtNumber(s.total, 1)) : '—'));
  });
  box.append(table(headers, rows, {
    caption: 'Each scoring plugin: score (0–100) × weight, with the raw value it judged; rejected sites name the filter that rejected them.',
    attrs: { id: 'explain-table' },
  }));
  return box;
}

export async function render(root, ctx, params) {
  const id = params.id;
  const transitions = [];
  const head = h('div', { class: 'page-head' });
  const body = h('div');
  const output = outputPanel(ctx);
  root.append(head, body);

  const draw = async () => {
    const [job, ex] = await Promise.all([
      api('GET', `/api/v1/jobs/${encodeURIComponent(id)}`),
      api('GET', `/api/v1/jobs/${encodeURIComponent(id)}/explain`),
    ]);
    clear(head);
    clear(body);
    head.append(h('h1', {}, `Job `, h('span', { class: 'mono' }, job.id)), h('span', { id: 'job-state' }, badge(job.state)),
      job.site ? h('span', {}, 'at ', h('a', { href: `#/sites/${encodeURIComponent(job.site)}` }, job.site)) : null,
      h('a', { href: '#/jobs' }, 'All jobs'));
    if (job.reason) body.append(h('p', { class: 'summary' }, job.reason));
    if (ctx.can.cancel(job) && !ENDED.has(job.state)) body.append(cancelControls(job));
    body.append(
      h('div', { class: 'two-col' },
        h('section', { class: 'panel', 'aria-labelledby': 'spec-title' }, h('h2', { id: 'spec-title' }, 'Spec'), specList(job.spec || {})),
        h('section', { class: 'panel', 'aria-labelledby': 'tl-title' }, h('h2', { id: 'tl-title' }, 'Timeline'), timeline(job, transitions),
          h('dl', { class: 'kv small' },
            h('dt', {}, 'Attempt'), h('dd', {}, String(job.attempt)),
            h('dt', {}, 'Site job id'), h('dd', {}, job.local_id || '—'),
            h('dt', {}, 'Excluded sites'), h('dd', {}, (job.excluded_sites || []).join(', ') || 'none'),
            job.cancel_requested ? [h('dt', {}, 'Cancel'), h('dd', {}, 'requested, waiting for the site')] : null))),
      output.element,
      explanation(ex));
    output.update(job);
  };

  const cancelControls = (job) => {
    const wrap = h('div', { class: 'actions' });
    const ask = h('button', { type: 'button', class: 'btn btn-danger', id: 'cancel-job' }, 'Cancel job');
    ask.addEventListener('click', () => {
      clear(wrap);
      const yes = h('button', { type: 'button', class: 'btn btn-danger' }, 'Yes, cancel it');
      const no = h('button', { type: 'button', class: 'btn btn-secondary' }, 'Keep it');
      yes.addEventListener('click', async () => {
        yes.disabled = true;
        try {
          await api('POST', `/api/v1/jobs/${encodeURIComponent(job.id)}/cancel`);
          toast(`Cancel of ${job.id} sent.`);
          await draw();
        } catch (e) {
          toast(`Cancel refused: ${e.message}`);
          yes.disabled = false;
        }
      });
      no.addEventListener('click', () => { wrap.replaceWith(cancelControls(job)); });
      wrap.append(h('span', { role: 'alert' }, `Cancel ${job.id}?`), yes, no);
      no.focus();
    });
    wrap.append(ask);
    return wrap;
  };

  await draw();
  let pending = null;
  const off = ctx.live.on('job', (ev) => {
    if (!ev.job || ev.job.id !== id) return;
    transitions.push({ from: ev.from, to: ev.to, at: ev.job.updated_at || Date.now() });
    clearTimeout(pending);
    pending = setTimeout(() => draw().catch((e) => console.error(e)), 200);
  });
  return () => {
    off();
    clearTimeout(pending);
  };
}
