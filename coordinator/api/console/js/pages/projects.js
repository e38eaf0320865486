// Projects: each project's allocation and what it has used, per site, in GPU-hours
// (node-hours for CPU jobs). "Used" is what the sites' accounting reported for ended jobs
// (JOB_USAGE: sacct at Slurm sites) plus the walltime of jobs still held at a site.
import { api, rowsOf } from '../api.js';
import { h, clear, fmtNumber, table } from '../dom.js';

function share(used, allocated) {
  if (!allocated) return '—';
  return `${fmtNumber((100 * used) / allocated, 1)} %`;
}

export async function render(root) {
  root.append(h('div', { class: 'page-head' }, h('h1', {}, 'Projects')));
  const list = h('div', { id: 'projects' });
  root.append(list);
  const data = await api('GET', '/api/v1/projects');
  const projects = rowsOf(data, 'projects');
  clear(list);
  if (projects.length === 0) {
    list.append(h('p', { class: 'muted' }, 'No projects you may read.'));
    return;
  }
  for (const p of projects) {
    const jobs = Object.entries(p.jobs || {}).map(([state, n]) => `${n} ${state}`).join(', ');
    const rows = (p.allocations || []).map((a) => h('tr', { 'data-site': a.site },
      h('th', { scope: 'row' }, h('a', { href: `#/sites/${encodeURIComponent(a.site)}` }, a.site)),
      h('td', { class: 'num' }, fmtNumber(a.allocated_gpu_hours, 1)),
      h('td', { class: 'num' }, fmtNumber(a.used_gpu_hours, 3)),
      h('td', { class: 'num' }, share(a.used_gpu_hours, a.allocated_gpu_hours))));
    rows.push(h('tr', { class: 'total' },
      h('th', { scope: 'row' }, 'All sites'),
      h('td', { class: 'num' }, fmtNumber(p.allocated_gpu_hours, 1)),
      h('td', { class: 'num' }, fmtNumber(p.used_gpu_hours, 3)),
      h('td', { class: 'num' }, share(p.used_gpu_hours, p.allocated_gpu_hours))));
    list.append(h('section', { class: 'panel', 'aria-labelledby': `project-${p.id}` },
      h('h2', { id: `project-${p.id}` }, p.id),
      h('p', { class: 'muted small' },
        `Home country ${p.country || '—'}; jobs: ${jobs || 'none'}`),
      table([{ label: 'Site' }, { label: 'Allocated GPU-h', num: true },
        { label: 'Used GPU-h', num: true }, { label: 'Used', num: true }], rows,
      { attrs: { class: 'project-table', 'data-project': p.id } })));
  }
}
