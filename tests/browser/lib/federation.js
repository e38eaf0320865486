// A real local federation for the browser tests: `aifed demo` with seven simulated
// sites, no sample jobs (--rate 0) and a ready file naming the base URL, the TLS
// certificate and fingerprint, and the admin token file.
'use strict';

const { spawn } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const https = require('node:https');
const os = require('node:os');
const path = require('node:path');

const sourceDir = process.env.AIFED_SOURCE_DIR || path.resolve(__dirname, '..', '..', '..');
const binDir = process.env.AIFED_BIN_DIR || process.env.AIFED_DEFAULT_BIN_DIR || path.join(sourceDir, 'build', 'dbg');
const artifactDir = process.env.AIFED_ARTIFACT_DIR || process.cwd();

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// Polls fn() until it returns a truthy value; throws naming `what` after timeoutMs.
async function waitFor(what, fn, timeoutMs = 60000, intervalMs = 200) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    try {
      const value = await fn();
      if (value) return value;
    } catch (e) {
      last = e;
    }
    await sleep(intervalMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${last.message})` : ''}`);
}

// "AB:CD:..." of a DER certificate, the format the coordinator prints.
function fingerprintOf(raw) {
  return crypto.createHash('sha256').update(raw).digest('hex').toUpperCase().match(/../g).join(':');
}

class Federation {
  constructor(ready, child, stateDir) {
    this.ready = ready;
    this.child = child;
    this.stateDir = stateDir;
    this.baseUrl = ready.base_url;
    this.consoleUrl = ready.console_url;
    this.sites = ready.sites || [];
    this.ca = ready.tls_cert ? fs.readFileSync(ready.tls_cert) : null;
    // A full handshake per request (no kept-alive sockets, no resumed TLS sessions), so
    // every answer comes with the server's certificate to check.
    this.agent = new https.Agent({ keepAlive: false, maxCachedSessions: 0 });
    this.adminToken = ready.admin_token_file ? fs.readFileSync(ready.admin_token_file, 'utf8').trim() : '';
  }

  // One API request with a bearer token. Over HTTPS the server's certificate is pinned,
  // like the CLI does: its SHA-256 fingerprint must be the one the demo printed (or,
  // when the ready file names the certificate file, it is the only trusted CA).
  request(method, target, { body, token = this.adminToken, headers = {} } = {}) {
    const url = new URL(target, this.baseUrl);
    const secure = url.protocol === 'https:';
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const options = {
      method,
      headers: { Accept: 'application/json', ...headers },
      ...(secure ? { agent: this.agent, ...(this.ca ? { ca: this.ca } : { rejectUnauthorized: false }) } : {}),
    };
    if (token) options.headers.Authorization = `Bearer ${token}`;
    if (payload !== undefined) {
      options.headers['Content-Type'] = 'application/json';
      options.headers['Content-Length'] = Buffer.byteLength(payload);
    }
    return new Promise((resolve, reject) => {
      const req = (secure ? https : http).request(url, options, (res) => {
        if (secure && !this.ca && !this.ready.tls_fingerprint) {
          reject(new Error('the ready file names neither tls_cert nor tls_fingerprint: cannot trust the server'));
          res.resume();
          return;
        }
        if (secure && this.ready.tls_fingerprint) {
          const cert = res.socket.getPeerCertificate();
          const got = cert && cert.raw ? fingerprintOf(cert.raw) : '(no certificate)';
          if (got !== this.ready.tls_fingerprint) {
            reject(new Error(`TLS fingerprint ${got} is not the printed ${this.ready.tls_fingerprint}`));
            res.resume();
            return;
          }
        }
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json = null;
          try {
            json = text ? JSON.parse(text) : null;
          } catch {
            json = null;
          }
          resolve({ status: res.statusCode, headers: res.headers, text, json });
        });
      });
      req.setTimeout(15000, () => req.destroy(new Error(`${method} ${target}: no answer in 15 s`)));
      req.on('error', reject);
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }

  // The JSON of a request that must answer `expect` (200 unless told).
  async api(method, target, opts = {}) {
    const r = await this.request(method, target, opts);
    const expect = opts.expect || (method === 'POST' && target === '/api/v1/jobs' ? 201 : 200);
    if (r.status !== expect) throw new Error(`${method} ${target}: HTTP ${r.status} (wanted ${expect}): ${r.text}`);
    return r.json;
  }

  submit(spec) {
    return this.api('POST', '/api/v1/jobs', { body: spec });
  }

  // Creates a token for the tests (admin only) and returns its secret.
  async createToken(name, role, scope = []) {
    const r = await this.api('POST', '/api/v1/tokens', { body: { name, role, scope }, expect: 201 });
    if (!r || !r.token) throw new Error(`POST /api/v1/tokens gave no token: ${JSON.stringify(r)}`);
    return r.token;
  }

  logTail(name, lines = 40) {
    const file = path.join(this.stateDir, 'state', 'logs', `${name}.log`);
    try {
      return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return `(no ${file})`;
    }
  }

  async stop() {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGTERM');
    const done = await Promise.race([exited.then(() => true), sleep(20000).then(() => false)]);
    if (!done) {
      // The demo did not stop its daemons in time: end its whole process group.
      try {
        process.kill(-this.child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}

// Starts `aifed demo` in a fresh state directory and waits for its ready file.
// `extraArgs` go to `aifed demo` after the others (e.g. ['--history-interval', '1s']).
async function startFederation({ speedup = 120, extraArgs = [] } = {}) {
  const aifed = path.join(binDir, 'cli', 'aifed');
  if (!fs.existsSync(aifed)) throw new Error(`no ${aifed}: build the aifed target first (AIFED_BIN_DIR=${binDir})`);
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'aifed-browser-'));
  const readyFile = path.join(stateDir, 'ready.json');
  const log = fs.openSync(path.join(stateDir, 'demo.log'), 'w');
  const child = spawn(aifed, ['demo', '--bin-dir', binDir,
    '--federation', path.join(sourceDir, 'config', 'federation-7.toml'),
    '--state-dir', path.join(stateDir, 'state'), '--rate', '0', '--speedup', String(speedup),
    '--no-table', '--ready-file', readyFile, ...extraArgs], { stdio: ['ignore', log, log], detached: true });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  // Whatever ends this script (even an uncaught exception), the federation ends with it.
  process.on('exit', () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  });
  try {
    const ready = await Promise.race([
      waitFor('the demo\'s ready file', () => fs.existsSync(readyFile) && JSON.parse(fs.readFileSync(readyFile, 'utf8')), 90000),
      exited.then(({ code, signal }) => { throw new Error(`aifed demo exited early (code ${code}, signal ${signal})`); }),
    ]);
    const fed = new Federation(ready, child, stateDir);
    return fed;
  } catch (e) {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
    const out = fs.readFileSync(path.join(stateDir, 'demo.log'), 'utf8');
    throw new Error(`${e.message}\n--- demo output ---\n${out}`);
  }
}

module.exports = { startFederation, waitFor, sleep, artifactDir, sourceDir, binDir };
