// The live view of the federation: one WebSocket to /api/v1/events, reconnecting with
// back-off, holding the latest site objects and federation totals.
//
// Events (docs/api.md, "Events"): {"type":"snapshot","sites":[...],"federation":{...}}
// on connect, {"type":"site","site":{...}} when a site changes, and
// {"type":"job","job":{...},"from":"queued","to":"dispatched"} on job transitions.

const MIN_BACKOFF_MS = 1000;
const MAX_BACKOFF_MS = 15000;

export class LiveFeed {
  constructor() {
    this.state = 'connecting';  // connecting | live | offline
    this.sites = new Map();     // id -> site object, in federation order
    this.federation = null;
    this.listeners = new Map(); // event name -> Set of callbacks
    this.socket = null;
    this.backoff = MIN_BACKOFF_MS;
    this.retryTimer = null;
    this.stopped = true;
  }

  // fn(payload) for 'state' (new state), 'sites' (snapshot), 'site' (one site),
  // 'job' (the job event), 'federation' (totals changed). Returns an unsubscribe.
  on(name, fn) {
    if (!this.listeners.has(name)) this.listeners.set(name, new Set());
    this.listeners.get(name).add(fn);
    return () => this.listeners.get(name).delete(fn);
  }

  emit(name, payload) {
    for (const fn of this.listeners.get(name) || []) {
      try {
        fn(payload);
      } catch (e) {
        console.error(`live ${name} listener failed`, e);
      }
    }
  }

  setState(state) {
    if (state === this.state) return;
    this.state = state;
    this.emit('state', state);
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    if (this.socket) this.socket.close(1000, 'logout');
    this.socket = null;
  }

  connect() {
    if (this.stopped) return;
    this.setState('connecting');
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    let socket;
    try {
      socket = new WebSocket(`${scheme}//${location.host}/api/v1/events`);
    } catch (e) {
      this.scheduleReconnect();
      return;
    }
    this.socket = socket;
    socket.addEventListener('message', (ev) => {
      if (socket !== this.socket) return;
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch {
        return;
      }
      this.handle(msg);
    });
    socket.addEventListener('close', () => {
      if (socket !== this.socket) return;
      this.socket = null;
      this.scheduleReconnect();
    });
    // An error is followed by close; nothing else to do here.
    socket.addEventListener('error', () => {});
  }

  scheduleReconnect() {
    if (this.stopped) return;
    this.setState('offline');
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.connect(), this.backoff);
    this.backoff = Math.min(this.backoff * 2, MAX_BACKOFF_MS);
  }

  // Seeds the view from REST before the first snapshot arrives (first paint).
  seed(sites, federation) {
    if (this.sites.size === 0 && sites) {
      for (const s of sites) this.sites.set(s.id, { ...s, received_at: Date.now() });
      this.emit('sites', this.sites);
    }
    if (!this.federation && federation) {
      this.federation = federation;
      this.emit('federation', federation);
    }
  }

  handle(msg) {
    switch (msg.type) {
      case 'snapshot': {
        this.backoff = MIN_BACKOFF_MS;
        this.sites = new Map();
        for (const s of msg.sites || []) this.sites.set(s.id, { ...s, received_at: Date.now() });
        // The snapshot's totals; what follows from the sites (accelerators, sites up) is
        // counted here so it agrees with the cards.
        if (msg.federation) this.federation = { ...(this.federation || {}), ...msg.federation };
        this.recountSites(false);
        this.setState('live');
        this.emit('sites', this.sites);
        if (this.federation) this.emit('federation', this.federation);
        break;
      }
      case 'site': {
        const s = msg.site;
        if (!s || !s.id) return;
        this.sites.set(s.id, { ...s, received_at: Date.now() });
        this.recountSites();
        this.emit('site', this.sites.get(s.id));
        break;
      }
      case 'job': {
        if (!msg.job) return;
        const jobs = this.federation && this.federation.jobs;
        if (jobs) {
          if (msg.from && typeof jobs[msg.from] === 'number') jobs[msg.from] = Math.max(0, jobs[msg.from] - 1);
          if (msg.to) jobs[msg.to] = (jobs[msg.to] || 0) + 1;
          if (!msg.from && typeof this.federation.jobs_total === 'number') this.federation.jobs_total += 1;
          this.emit('federation', this.federation);
        }
        this.emit('job', msg);
        break;
      }
      default:
        break;
    }
  }

  // Totals that follow from the site objects alone.
  recountSites(emit = true) {
    if (!this.federation) return;
    let up = 0, total = 0, free = 0;
    for (const s of this.sites.values()) {
      if (s.state === 'up') up += 1;
      total += s.accelerators_total || 0;
      free += s.accelerators_free || 0;
    }
    Object.assign(this.federation, { sites_up: up, sites_total: this.sites.size,
      accelerators_total: total, accelerators_free: free });
    if (emit) this.emit('federation', this.federation);
  }
}

// Accelerators per type of a site object: [{type, total, free}], from its partitions.
export function acceleratorsByType(site) {
  const byType = new Map();
  for (const p of site.partitions || []) {
    const nt = p.node_type || {};
    if (!nt.accelerator) continue;
    const per = nt.accelerators_per_node || 0;
    const cur = byType.get(nt.accelerator) || { type: nt.accelerator, total: 0, free: 0 };
    cur.total += (p.nodes_total || 0) * per;
    cur.free += (p.nodes_idle || 0) * per;
    byType.set(nt.accelerator, cur);
  }
  if (byType.size === 0 && (site.accelerator_types || []).length > 0) {
    // Not reported yet: one bar with the configured total and nothing known free.
    return [{ type: site.accelerator_types.join(', '), total: site.accelerators_total || 0, free: 0 }];
  }
  return [...byType.values()];
}

// A site's report age now, from the age it had when it was received.
export function reportAgeMs(site) {
  if (site.report_age_ms === null || site.report_age_ms === undefined) return null;
  return site.report_age_ms + (Date.now() - (site.received_at || Date.now()));
}
