// Not found: an unknown address, or a job, site or token that does not exist (or that
// the role may not see: the API answers 404 for both). Plain words and a way back, never
// a raw error code.
import { h } from '../dom.js';

// What `parts` (the route's path, split) names, and where to go back to.
function describe(parts) {
  if (parts[0] === 'jobs' && parts[1]) {
    return {
      title: 'Job not found',
      text: `There is no job ${parts[1]}, or your role may not see it.`,
      back: { href: '#/jobs', label: 'Back to the jobs' },
    };
  }
  if (parts[0] === 'sites' && parts[1]) {
    return {
      title: 'Site not found',
      text: `There is no site ${parts[1]} in this federation.`,
      back: { href: '#/sites', label: 'Back to the sites' },
    };
  }
  return {
    title: 'Page not found',
    text: parts.length ? `The console has no page at #/${parts.join('/')}.` : 'The console has no such page.',
    back: { href: '#/jobs', label: 'Go to the jobs' },
  };
}

export function render(root, ctx, params) {
  const what = describe(params.parts || []);
  root.append(h('div', { class: 'page-head' }, h('h1', {}, what.title)),
    h('section', { class: 'panel', id: 'not-found', 'aria-labelledby': 'nf-text' },
      h('p', { id: 'nf-text' }, what.text),
      h('p', {}, h('a', { href: what.back.href, id: 'not-found-back' }, what.back.label),
        ' · ', h('a', { href: '#/' }, 'the overview'))));
}
