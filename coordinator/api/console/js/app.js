// The aifed console: session, hash routing, the top bar and the live connection.
// Routes: #/login, #/ (overview), #/jobs?state=&site=&project=&q=&sort=&active=&mine=&page=,
// #/jobs/{id}, #/submit, #/sites, #/sites/{id}, #/policy, #/audit, #/projects, #/tokens;
// anything else, and a job or site the API does not know, shows the not-found page.

import { api, ApiError, setUnauthenticatedHandler } from './api.js';
import { h, clear, toast } from './dom.js';
import { LiveFeed } from './live.js';
import { permissions } from './perms.js';
import * as loginPage from './pages/login.js';
import * as overviewPage from './pages/overview.js';
import * as jobsPage from './pages/jobs.js';
import * as jobPage from './pages/job.js';
import * as sitePage from './pages/site.js';
import * as policyPage from './pages/policy.js';
import * as auditPage from './pages/audit.js';
import * as projectsPage from './pages/projects.js';
import * as sitesPage from './pages/sites.js';
import * as tokensPage from './pages/tokens.js';
import * as submitPage from './pages/submit.js';
import * as notFoundPage from './pages/notfound.js';

const main = document.getElementById('main');
const ctx = {
  session: null,
  can: null,
  live: new LiveFeed(),
  navigate: (hash) => { location.hash = hash; },
  onLogin: (session) => startSession(session),
};
let cleanup = null;
let renderSeq = 0;

function parseHash() {
  const raw = location.hash.replace(/^#/, '') || '/';
  const [path, qs] = raw.split('?');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  return { parts, query: new URLSearchParams(qs || '') };
}

function routeFor(parts) {
  if (parts.length === 0) return { page: overviewPage, nav: 'overview', params: {} };
  if (parts[0] === 'login') return { page: loginPage, nav: '', params: {} };
  if (parts[0] === 'jobs' && parts.length === 1) return { page: jobsPage, nav: 'jobs', params: {} };
  if (parts[0] === 'jobs' && parts.length === 2) return { page: jobPage, nav: 'jobs', params: { id: parts[1] } };
  if (parts[0] === 'sites' && parts.length === 1) return { page: sitesPage, nav: 'sites', params: {} };
  if (parts[0] === 'sites' && parts.length === 2) return { page: sitePage, nav: 'sites', params: { id: parts[1] } };
  if (parts.length !== 1) return null;
  if (parts[0] === 'submit') return { page: submitPage, nav: 'submit', params: {} };
  if (parts[0] === 'policy') return { page: policyPage, nav: 'policy', params: {} };
  if (parts[0] === 'audit') return { page: auditPage, nav: 'audit', params: {} };
  if (parts[0] === 'projects') return { page: projectsPage, nav: 'projects', params: {} };
  if (parts[0] === 'tokens') return { page: tokensPage, nav: 'tokens', params: {} };
  return null;
}

// What a failed page says: plain words, the coordinator's message, no raw error code.
function failure(container, e) {
  const text = !(e instanceof ApiError) ? String(e)
    : e.status === 0 ? `The coordinator did not answer; check the connection and try again. (${e.message})`
      : e.status === 403 ? `Your role may not see this: ${e.message}.`
        : `The coordinator refused the request: ${e.message}.`;
  container.append(h('h1', {}, 'Something went wrong'),
    h('p', { class: 'error-box', role: 'alert' }, text),
    h('p', {}, h('a', { href: '#/' }, 'Back to the overview')));
}

async function render() {
  const seq = ++renderSeq;
  if (cleanup) {
    try { cleanup(); } catch (e) { console.error(e); }
    cleanup = null;
  }
  const { parts, query } = parseHash();
  const route = routeFor(parts);
  const loggedIn = ctx.session !== null;
  if (!loggedIn && (!route || route.page !== loginPage)) {
    location.replace('#/login');
    return;
  }
  if (loggedIn && route && route.page === loginPage) {
    location.replace('#/');
    return;
  }
  for (const a of document.querySelectorAll('[data-nav]')) {
    if (route && a.dataset.nav === route.nav) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  clear(main);
  const container = h('div', { class: 'page' });
  main.append(container);
  if (!route) {
    notFoundPage.render(container, ctx, { parts });
    document.title = 'Page not found · aifed console';
    return;
  }
  try {
    const result = await route.page.render(container, ctx, route.params, query);
    if (seq !== renderSeq) {
      if (typeof result === 'function') result();
      return;
    }
    cleanup = typeof result === 'function' ? result : null;
  } catch (e) {
    if (seq !== renderSeq) return;
    clear(container);
    // A job or site the API does not know (or hides from this role) is not found.
    if (e instanceof ApiError && e.status === 404) notFoundPage.render(container, ctx, { parts });
    else failure(container, e);
  }
  document.title = `${container.querySelector('h1')?.textContent || 'aifed'} · aifed console`;
}

function showChrome(session) {
  const bar = document.getElementById('topbar');
  bar.hidden = !session;
  if (!session) return;
  document.getElementById('who-name').textContent = session.name || session.token_id || '';
  document.getElementById('who-role').textContent = session.role;
  document.getElementById('nav-audit').hidden = !ctx.can.readAudit;
  document.getElementById('nav-tokens').hidden = !ctx.can.manageTokens;
  document.getElementById('nav-submit').hidden = !ctx.can.submit;
}

function showConnection(state) {
  const el = document.getElementById('conn');
  el.dataset.state = state;
  document.getElementById('conn-text').textContent =
    state === 'live' ? 'Live' : state === 'connecting' ? 'Connecting…' : 'Offline, reconnecting…';
}

function startSession(session) {
  ctx.session = session;
  ctx.can = permissions(session);
  showChrome(session);
  ctx.live.start();
  if (location.hash === '#/') render();
  else location.hash = '#/';
}

function endSession(message) {
  ctx.session = null;
  ctx.can = null;
  ctx.live.stop();
  ctx.live = new LiveFeed();
  ctx.live.on('state', showConnection);
  showChrome(null);
  if (message) toast(message);
  if (location.hash !== '#/login') location.hash = '#/login';
  else render();
}

async function boot() {
  ctx.live.on('state', showConnection);
  setUnauthenticatedHandler(() => {
    if (ctx.session) endSession('Your session ended; log in again.');
  });
  document.getElementById('logout').addEventListener('click', async () => {
    try {
      await api('DELETE', '/api/v1/session', undefined, { quiet401: true });
    } catch (e) {
      // Logged out either way: the cookie is gone or was never valid.
    }
    endSession('Logged out.');
  });
  window.addEventListener('hashchange', render);
  try {
    const session = await api('GET', '/api/v1/session', undefined, { quiet401: true });
    ctx.session = session;
    ctx.can = permissions(session);
    showChrome(session);
    ctx.live.start();
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 401) toast(`Cannot reach the coordinator: ${e.message}`);
  }
  render();
}

boot();
