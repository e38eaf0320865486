// The job page's output panel: where the job's output is at its site (the local user and
// account it runs as, the paths of its stdout and stderr) and, for those who may read it,
// the end of either stream fetched from the site through GET /api/v1/jobs/{id}/output.
// The panel is made once per page and kept across the page's redraws, so the chosen
// stream and the text shown survive live updates; it reads again when asked (Refresh) or
// when the job's attempt or state changes.
import { api } from '../api.js';
import { h, clear, fmtTime } from '../dom.js';

const TAIL_BYTES = 65536;

export function outputPanel(ctx) {
  let job = null;
  let stream = 'stdout';
  let seen = '';  // attempt and state of the last read
  const where = h('dl', { class: 'kv small', id: 'output-where' });
  const status = h('p', { class: 'muted small', role: 'status', id: 'output-status' });
  const text = h('pre', { class: 'script output', id: 'job-output', tabindex: '0', 'aria-labelledby': 'output-title' });
  const refresh = h('button', { type: 'button', class: 'btn btn-secondary', id: 'output-refresh' }, 'Refresh');
  const choices = ['stdout', 'stderr'].map((s) => {
    const input = h('input', { type: 'radio', name: 'output-stream', value: s, id: `output-${s}`, checked: s === stream });
    input.addEventListener('change', () => { if (input.checked) { stream = s; load(); } });
    return h('label', { for: `output-${s}` }, input, ` ${s}`);
  });
  const controls = h('div', { class: 'actions' },
    h('fieldset', { class: 'inline' }, h('legend', { class: 'small muted' }, 'Stream'), choices), refresh);
  const box = h('section', { class: 'panel', 'aria-labelledby': 'output-title', id: 'output' },
    h('h2', { id: 'output-title' }, 'Output'), where);
  const reader = h('div', {}, controls, status, text);
  refresh.addEventListener('click', () => load());

  async function load() {
    if (!job) return;
    if (!job.attempt || !job.site) {
      status.textContent = 'The job has not reached a site yet: there is no output.';
      text.textContent = '';
      return;
    }
    refresh.disabled = true;
    status.textContent = `Reading the end of ${stream} from ${job.site}…`;
    try {
      const out = await api('GET', `/api/v1/jobs/${encodeURIComponent(job.id)}/output?stream=${stream}&max_bytes=${TAIL_BYTES}`);
      text.textContent = out.data;
      const shown = out.next_offset - out.offset;
      status.textContent = out.size === 0
        ? `${stream} is empty (read ${fmtTime(Date.now())}).`
        : `${out.offset > 0 ? `The last ${shown} of ${out.size}` : `All ${out.size}`} bytes of ${stream}, read ${fmtTime(Date.now())}.`;
    } catch (e) {
      text.textContent = '';
      status.textContent = `No output: ${e.message}`;
    } finally {
      refresh.disabled = false;
    }
  }

  return {
    element: box,
    // The job as the page now knows it: shows where its output is, and reads again when
    // its attempt or state changed since the last read.
    update(next) {
      job = next;
      const at = job.at_site || {};
      clear(where).append(
        h('dt', {}, 'Site'), h('dd', {}, job.site || '—'),
        h('dt', {}, 'Local user'), h('dd', {}, at.local_user || '—'),
        h('dt', {}, 'Account'), h('dd', {}, at.account || '—'),
        h('dt', {}, 'stdout'), h('dd', { class: 'mono' }, at.stdout_path || '—'),
        h('dt', {}, 'stderr'), h('dd', { class: 'mono' }, at.stderr_path || '—'));
      if (!ctx.can.readOutput(job)) {
        reader.remove();
        return;
      }
      if (!reader.isConnected) box.append(reader);
      const now = `${job.attempt}/${job.state}`;
      if (now !== seen) {
        seen = now;
        load();
      }
    },
  };
}
