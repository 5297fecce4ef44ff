// Development-only mock of the StackSnap API (docs/API.md), for `npm run dev` while the
// real routes are not built yet. Never used by the committed tests.
//   node dev/mock-server.mjs [port]     (then: npm run dev, which proxies /api here)
// It also serves web/dist, so `npm run build && node dev/mock-server.mjs` works alone.
import { createServer } from 'node:http';
import { readFileSync, existsSync } from 'node:fs';
import { join, extname, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';

const port = Number(process.argv[2] ?? process.env.PORT ?? 8090);
const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist');
const now = () => Math.floor(Date.now() / 1000);

const state = {
  password: null,
  csrf: randomBytes(16).toString('hex'),
  session: randomBytes(16).toString('hex'),
  key: null,
  targets: [],
  schedules: {},
  retention: [],
  notifications: [],
  tokens: [],
  settings: { max_concurrent_jobs: 2, server_name: 'dev-host' },
  backups: [],
  jobs: [],
  events: {},
  dockerDown: process.env.MOCK_DOCKER_DOWN === '1',
  projects: [
    { name: 'shop', state: 'running', working_dir: '/srv/shop', services: [
      { name: 'db', image: 'postgres:16', state: 'running', engine: 'postgres', engine_evidence: 'image postgres', hooks: {} },
      { name: 'cache', image: 'redis:7', state: 'running', engine: 'redis', engine_evidence: 'image redis', hooks: {} },
      { name: 'web', image: 'shop/app:1.4', state: 'running', engine: 'none', hooks: { 'pre-backup': "sh -c 'echo maintenance on > /srv/data/.maintenance'", 'post-backup': 'rm -f /srv/data/.maintenance' } },
    ], volumes: [
      { key: 'dbdata', name: 'shop_dbdata', used_by: [{ service: 'db', destination: '/var/lib/postgresql/data' }] },
      { key: 'cachedata', name: 'shop_cachedata', used_by: [{ service: 'cache', destination: '/data' }] },
      { key: 'appdata', name: 'shop_appdata', used_by: [{ service: 'web', destination: '/srv/data' }] },
    ], binds: [{ host_path: '/srv/shop/uploads', container_path: '/srv/uploads', read_only: false, services: ['web'] }] },
    { name: 'wiki', state: 'running', working_dir: '/srv/wiki', services: [
      { name: 'mariadb', image: 'mariadb:11', state: 'running', engine: 'mysql', engine_evidence: 'image mariadb', hooks: {} },
      { name: 'app', image: 'mediawiki:1.41', state: 'running', engine: 'none', hooks: {} },
    ], volumes: [{ key: 'db', name: 'wiki_db', used_by: [{ service: 'mariadb', destination: '/var/lib/mysql' }] }], binds: [] },
    { name: 'files', state: 'partial', working_dir: '/srv/files', services: [
      { name: 'worker', image: 'alpine:3.20', state: 'running', engine: 'none', hooks: {} },
      { name: 'sync', image: 'syncthing/syncthing', state: 'stopped', engine: 'none', hooks: {} },
    ], volumes: [], binds: [{ host_path: '/srv/files/archive', container_path: '/archive', read_only: false, services: ['worker'] }] },
  ],
};

// A week-old backup of wiki so the dashboard shows every protection state.
state.backups.push({ id: '20261118T030000Z-9a8b7c6d', project: 'wiki', created_at: now() - 7 * 86400, plaintext_bytes: 3.2e8, stored_bytes: 1.1e8, sha256: 'x', duration_ms: 41000, verified_at: now() - 7 * 86400, verify_result: 'ok', drill_at: null, drill_result: '', copies: [{ target: 'local', key: 'k', size: 1.1e8, uploaded_at: now() - 7 * 86400 }] });

function full(p) {
  return { ...p, compose_version: '2.29.1', config_files: [`${p.working_dir}/docker-compose.yml`], env_files: [], warnings: [],
    services: p.services.map((s) => ({ engine_detected_by: s.engine === 'none' ? 'default' : 'image', excluded: false, containers: [{ id: 'c', name: `${p.name}-${s.name}-1`, state: s.state, image: s.image }], mounts: [], ...s })),
    volumes: p.volumes.map((v) => ({ external: false, anonymous: false, driver: 'local', excluded: false, ...v, used_by: v.used_by.map((u) => ({ read_only: false, ...u })) })) };
}
const lastBackup = (name) => {
  const b = state.backups.filter((x) => x.project === name).sort((a, c) => c.created_at - a.created_at)[0];
  return b ? { id: b.id, created_at: b.created_at, stored_bytes: b.stored_bytes, verify_result: b.verify_result, drill_result: b.drill_result } : null;
};
const runningJob = (name) => {
  const j = state.jobs.find((x) => x.project === name && (x.state === 'running' || x.state === 'queued'));
  return j ? { id: j.id, kind: j.kind, state: j.state } : null;
};
const schedRef = (name) => {
  const s = state.schedules[name];
  return s ? { cron: s.cron, timezone: s.timezone, enabled: s.enabled, next_run: s.next_run } : null;
};
function summary(p) {
  return { name: p.name, state: p.state, services: p.services.length, engines: [...new Set(p.services.map((s) => s.engine).filter((e) => e !== 'none'))],
    volumes: p.volumes.length, binds: p.binds.length, warnings: [], last_backup: lastBackup(p.name), schedule: schedRef(p.name), running_job: runningJob(p.name) };
}

const sseClients = {};
function emit(job, type, data) {
  const list = (state.events[job.id] ??= []);
  const ev = { seq: list.length + 1, ts: new Date().toISOString(), type, ...data };
  list.push(ev);
  for (const res of sseClients[job.id] ?? []) writeEvent(res, ev);
  if (type === 'summary') for (const res of sseClients[job.id] ?? []) res.end();
}
function writeEvent(res, ev) {
  res.write(`id: ${ev.seq}\nevent: ${ev.type}\ndata: ${JSON.stringify(ev)}\n\n`);
}

function startJob(kind, project, backup_id, params = {}) {
  if (runningJob(project)) throw { status: 409, code: 'FailedPrecondition', message: `a job for ${project} is already running` };
  const job = { id: state.jobs.length + 1, kind, project, backup_id: backup_id ?? '', state: 'running', created_at: now(), started_at: now(), finished_at: 0, error_code: '', error: '', summary: null, params: { reason: 'manual', ...params } };
  state.jobs.unshift(job);
  simulate(job);
  return { job_id: job.id, job };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function simulate(job) {
  const speed = Number(process.env.MOCK_SPEED ?? 1);
  const step = async (id, title, ms, fn) => {
    emit(job, 'step_started', { step: id, title });
    const t0 = Date.now();
    if (fn) await fn();
    else await sleep(ms / speed);
    emit(job, 'step_finished', { step: id, ok: true, duration_ms: Date.now() - t0 });
  };
  const log = (message, level = 'info', step) => emit(job, 'log', { level, message, ...(step ? { step } : {}) });
  const copy = async (stepId, total) => {
    let done = 0;
    const rate = 48 * 1024 * 1024;
    while (done < total) {
      await sleep(250 / speed);
      done = Math.min(total, done + rate / 4);
      emit(job, 'progress', { step: stepId, bytes_done: Math.round(done), bytes_total: total, rate_bps: rate, eta_s: Math.max(0, (total - done) / rate) });
      if (job.cancel) throw new Error('cancelled');
    }
  };
  try {
    if (job.kind === 'backup') {
      await step('plan', 'Plan', 400, async () => { log('found 3 services, 2 databases (postgres, redis), 3 volumes, 1 bind mount', 'info', 'plan'); await sleep(400 / speed); });
      await step('pre_hooks', 'Pre-backup hooks', 300, async () => { log("web: sh -c 'echo maintenance on > /srv/data/.maintenance' → exit 0", 'info', 'pre_hooks'); await sleep(300 / speed); });
      await step('dump', 'Dump databases', 0, async () => { log('db: pg_dump shop (postgres 16.4)', 'info', 'dump'); await copy('dump', 24 * 1024 * 1024); log('db: 4 tables, 12,480 rows', 'info', 'dump'); log('cache: redis BGSAVE, 1.2 MiB', 'info', 'dump'); });
      if (job.params.safe_mode) log('Safe Mode: pausing web', 'info', 'capture');
      await step('capture', 'Copy volumes and bind mounts', 0, async () => { await copy('capture', 180 * 1024 * 1024); log('shop_appdata: 2,004 files, 1.3 MiB', 'info', 'capture'); });
      if (job.params.safe_mode) log('Safe Mode: resumed web after 3.9 s', 'info', 'capture');
      await step('post_hooks', 'Post-backup hooks', 200);
      await step('verify', 'Verify the archive', 0, () => copy('verify', 60 * 1024 * 1024));
      await step('upload', 'Upload to local', 0, () => copy('upload', 60 * 1024 * 1024));
      const id = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z/, 'Z') + '-' + randomBytes(4).toString('hex');
      const b = { id, project: job.project, created_at: now(), plaintext_bytes: 204 * 1024 * 1024, stored_bytes: 61 * 1024 * 1024, sha256: 'x', duration_ms: 9000, verified_at: now(), verify_result: 'ok', drill_at: null, drill_result: '', copies: [{ target: 'local', key: 'k', size: 61 * 1024 * 1024, uploaded_at: now() }] };
      state.backups.unshift(b);
      finish(job, { result: 'succeeded', backup_id: id, project: job.project, stored_bytes: b.stored_bytes, plaintext_bytes: b.plaintext_bytes, files: 2011, duration_ms: 9000, pause_ms: job.params.safe_mode ? 3900 : 0, targets: ['local'], failed_targets: [] });
    } else if (job.kind === 'verify') {
      await step('fetch', 'Fetch from local', 0, () => copy('fetch', 61 * 1024 * 1024));
      await step('authenticate', 'Authenticate and decompress', 0, () => copy('authenticate', 61 * 1024 * 1024));
      log('2,011 entries, every hash matches');
      state.backups.find((b) => b.id === job.backup_id).verify_result = 'ok';
      finish(job, { result: 'succeeded', backup_id: job.backup_id, files: 2011 });
    } else if (job.kind === 'drill' || job.kind === 'restore') {
      const target = job.params.project ?? job.project;
      await step('fetch', 'Fetch and authenticate', 0, () => copy('fetch', 61 * 1024 * 1024));
      await step('volumes', 'Create and fill volumes', 0, () => copy('volumes', 180 * 1024 * 1024));
      await step('databases', 'Start databases and replay dumps', 800, async () => { log('db: ready after 2.1 s; replaying shop.sql'); await sleep(800 / speed); log('db: 12,480 rows in 4 tables, as recorded'); });
      await step('start', 'Start the remaining services', 500);
      await step('checks', 'Post-restore checks', 400);
      if (job.kind === 'drill') {
        await step('teardown', 'Tear down the sandbox', 300);
        state.backups.find((b) => b.id === job.backup_id).drill_result = 'passed';
        finish(job, { result: 'succeeded', backup_id: job.backup_id, checks: '4 of 4 passed' });
      } else {
        if (!state.projects.find((p) => p.name === target)) {
          const src = state.projects.find((p) => p.name === job.project);
          state.projects.push({ ...structuredClone(src), name: target, working_dir: `/var/lib/stacksnap/restored/${target}` });
        }
        finish(job, { result: 'succeeded', backup_id: job.backup_id, project: target });
      }
    }
  } catch (e) {
    const cancelled = job.cancel;
    emit(job, 'error', { code: cancelled ? 'Cancelled' : 'Internal', message: cancelled ? 'cancelled by the user' : String(e) });
    job.state = cancelled ? 'cancelled' : 'failed';
    job.error = cancelled ? 'cancelled by the user' : String(e);
    job.finished_at = now();
    emit(job, 'summary', { result: job.state, message: job.error });
  }
}
function finish(job, s) {
  job.state = 'succeeded';
  job.finished_at = now();
  job.summary = s;
  emit(job, 'summary', s);
}

function send(res, status, body) {
  const h = { 'Cache-Control': 'no-store' };
  if (body === undefined) {
    res.writeHead(status, h);
    return res.end();
  }
  res.writeHead(status, { ...h, 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}
const err = (status, code, message) => ({ status, code, message });

async function body(req) {
  let s = '';
  for await (const c of req) s += c;
  return s ? JSON.parse(s) : {};
}

// Like `stacksnap serve`, the mock wants the one-time setup token (open /?setup_token=mock-setup-token).
const MOCK_SETUP_TOKEN = 'mock-setup-token';

async function api(req, res, url) {
  const path = url.pathname;
  const m = (re) => path.match(re);
  const authed = req.headers.cookie?.includes(`stacksnap_session=${state.session}`);
  if (path === '/api/health') return send(res, 200, { status: 'ok', version: 'mock' });
  if (path === '/api/setup' && req.method === 'GET') return send(res, 200, { needs_setup: !state.password });
  const cookie = `stacksnap_session=${state.session}; HttpOnly; SameSite=Strict; Path=/`;
  if (path === '/api/setup' && req.method === 'POST') {
    if (state.password) throw err(409, 'AlreadyExists', 'an admin password is already set');
    const b = await body(req);
    if (b.setup_token !== MOCK_SETUP_TOKEN) throw err(403, 'PermissionDenied', 'the setup token is missing or wrong');
    if ((b.password ?? '').length < 10) throw err(400, 'InvalidArgument', 'the password needs at least 10 characters');
    state.password = b.password;
    res.setHeader('Set-Cookie', cookie);
    return send(res, 201, { user: 'admin', csrf_token: state.csrf, expires_at: now() + 43200 });
  }
  if (path === '/api/login') {
    const b = await body(req);
    if (b.password !== state.password) throw err(401, 'Unauthenticated', 'wrong password');
    res.setHeader('Set-Cookie', cookie);
    return send(res, 200, { user: 'admin', csrf_token: state.csrf, expires_at: now() + 43200 });
  }
  if (!authed) throw err(401, 'Unauthenticated', 'log in first');
  if (req.method !== 'GET' && req.headers['x-csrf-token'] !== state.csrf) throw err(403, 'PermissionDenied', 'missing or wrong CSRF token');
  const keyInfo = () => ({ configured: !!state.key, source: state.key?.source ?? null, unlocked: true, fingerprint: state.key?.fingerprint ?? null });

  if (path === '/api/session') return send(res, 200, { user: 'admin', auth: 'session', csrf_token: state.csrf });
  if (path === '/api/logout') return send(res, 204);
  if (path === '/api/onboarding') return send(res, 200, { admin: true, targets: state.targets.length, key: keyInfo(), complete: state.targets.length > 0 && !!state.key });
  if (path === '/api/key' && req.method === 'GET') return send(res, 200, keyInfo());
  if (path === '/api/key' && req.method === 'POST') {
    const b = await body(req);
    if (state.key) throw err(409, 'AlreadyExists', 'a key exists');
    const fingerprint = randomBytes(8).toString('hex');
    if (b.mode === 'passphrase') {
      state.key = { source: 'passphrase', fingerprint };
      return send(res, 201, { source: 'passphrase', fingerprint });
    }
    state.key = { source: 'key-file', fingerprint };
    return send(res, 201, { source: 'key-file', fingerprint, recovery_key: randomBytes(32).toString('hex') });
  }
  if (path === '/api/targets/test') {
    const b = await body(req);
    if (b.kind === 'local' && !String(b.config?.path ?? '').startsWith('/')) return send(res, 200, { ok: false, step: 'write', code: 'InvalidArgument', message: 'the path must be absolute', steps: [] });
    return send(res, 200, { ok: true, latency_ms: 7, steps: [{ step: 'write', ok: true, ms: 4 }, { step: 'read', ok: true, ms: 2 }, { step: 'delete', ok: true, ms: 1 }], describe: b.kind === 'local' ? `local ${b.config.path}` : `s3 ${b.config.endpoint}/${b.config.bucket}` });
  }
  if (m(/^\/api\/targets\/[^/]+\/test$/)) return send(res, 200, { ok: true, latency_ms: 5, steps: [{ step: 'write', ok: true, ms: 3 }, { step: 'read', ok: true, ms: 1 }, { step: 'delete', ok: true, ms: 1 }] });
  if (path === '/api/targets' && req.method === 'GET') return send(res, 200, { targets: state.targets.map((t) => ({ ...t, backups: state.backups.length })) });
  if (path === '/api/targets' && req.method === 'POST') {
    const b = await body(req);
    const t = { name: b.name, kind: b.kind, config: { ...b.config }, created_at: now() };
    if (t.config.secret_key) { delete t.config.secret_key; t.config.secret_key_set = true; }
    state.targets.push(t);
    return send(res, 201, t);
  }
  if (m(/^\/api\/targets\/[^/]+$/) && req.method === 'DELETE') {
    state.targets = state.targets.filter((t) => t.name !== decodeURIComponent(path.split('/')[3]));
    return send(res, 204);
  }
  if (path === '/api/projects') {
    if (state.dockerDown) throw err(503, 'Unavailable', 'cannot reach the Docker Engine at /var/run/docker.sock: connection refused');
    return send(res, 200, { projects: state.projects.map(summary) });
  }
  let r;
  if ((r = m(/^\/api\/projects\/([^/]+)$/))) {
    const p = state.projects.find((x) => x.name === decodeURIComponent(r[1]));
    if (!p) throw err(404, 'NotFound', 'no such project');
    const s = state.schedules[p.name] ?? null;
    return send(res, 200, { name: p.name, state: p.state, project: full(p), engines: summary(p).engines, last_backup: lastBackup(p.name), backups: state.backups.filter((b) => b.project === p.name).length, schedule: s, next_run: s?.next_run ?? null, retention: state.retention.filter((x) => x.project === p.name), running_job: runningJob(p.name) });
  }
  if ((r = m(/^\/api\/projects\/([^/]+)\/schedule$/))) {
    const name = decodeURIComponent(r[1]);
    if (req.method === 'DELETE') { delete state.schedules[name]; return send(res, 204); }
    const b = await body(req);
    state.schedules[name] = { project: name, jitter_s: 0, enabled: true, safe_mode: false, targets: [], drill_cron: '', timezone: 'UTC', ...b, last_run: 0, next_run: now() + 6 * 3600, last_drill: 0 };
    return send(res, 200, state.schedules[name]);
  }
  if ((r = m(/^\/api\/projects\/([^/]+)\/retention$/))) {
    const name = decodeURIComponent(r[1]);
    const { target = '*', ...policy } = await body(req);
    state.retention = state.retention.filter((x) => !(x.project === name && x.target === target));
    const p = { project: name, target, policy };
    state.retention.push(p);
    return send(res, 200, p);
  }
  if (path === '/api/backups' && req.method === 'GET') {
    const pr = url.searchParams.get('project');
    return send(res, 200, { backups: state.backups.filter((b) => !pr || b.project === pr) });
  }
  if (path === '/api/backups' && req.method === 'POST') {
    const b = await body(req);
    if (!state.targets.length) throw err(409, 'FailedPrecondition', 'no storage target is configured');
    return send(res, 202, startJob('backup', b.project, '', { safe_mode: !!b.safe_mode, targets: b.targets ?? [] }));
  }
  if ((r = m(/^\/api\/backups\/([^/]+)\/(verify|drill|restore)$/))) {
    const bk = state.backups.find((b) => b.id === decodeURIComponent(r[1]));
    if (!bk) throw err(404, 'NotFound', 'no such backup');
    const b = await body(req);
    return send(res, 202, startJob(r[2], bk.project, bk.id, r[2] === 'restore' && b.project ? { project: b.project } : {}));
  }
  if ((r = m(/^\/api\/backups\/([^/]+)$/)) && req.method === 'DELETE') {
    state.backups = state.backups.filter((b) => b.id !== decodeURIComponent(r[1]));
    return send(res, 204);
  }
  if (path === '/api/jobs') {
    const pr = url.searchParams.get('project');
    const st = url.searchParams.get('state');
    return send(res, 200, { jobs: state.jobs.filter((j) => (!pr || j.project === pr) && (!st || j.state === st)) });
  }
  if ((r = m(/^\/api\/jobs\/(\d+)$/))) {
    const j = state.jobs.find((x) => x.id === Number(r[1]));
    if (!j) throw err(404, 'NotFound', 'no such job');
    return send(res, 200, j);
  }
  if ((r = m(/^\/api\/jobs\/(\d+)\/cancel$/))) {
    const j = state.jobs.find((x) => x.id === Number(r[1]));
    j.cancel = true;
    return send(res, 202, j);
  }
  if ((r = m(/^\/api\/jobs\/(\d+)\/events$/))) {
    const j = state.jobs.find((x) => x.id === Number(r[1]));
    if (!j) throw err(404, 'NotFound', 'no such job');
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store' });
    res.write('retry: 1000\n\n');
    const after = Number(req.headers['last-event-id'] ?? 0);
    for (const ev of state.events[j.id] ?? []) if (ev.seq > after) writeEvent(res, ev);
    if (j.state !== 'running' && j.state !== 'queued') return res.end();
    (sseClients[j.id] ??= []).push(res);
    req.on('close', () => (sseClients[j.id] = sseClients[j.id].filter((x) => x !== res)));
    return;
  }
  if (path === '/api/events') {
    res.writeHead(200, { 'Content-Type': 'text/event-stream' });
    res.write('retry: 3000\n\n');
    return;
  }
  if (path === '/api/notifications' && req.method === 'GET') return send(res, 200, { notifications: state.notifications });
  if (path === '/api/notifications' && req.method === 'POST') {
    const b = await body(req);
    const n = { id: state.notifications.length + 1, on_success: false, on_failure: true, enabled: true, created_at: now(), ...b };
    state.notifications.push(n);
    return send(res, 201, n);
  }
  if ((r = m(/^\/api\/notifications\/(\d+)\/test$/))) return send(res, 200, { ok: true, status: 200, attempts: 1 });
  if ((r = m(/^\/api\/notifications\/(\d+)$/))) {
    if (req.method === 'DELETE') { state.notifications = state.notifications.filter((n) => n.id !== Number(r[1])); return send(res, 204); }
    const n = state.notifications.find((x) => x.id === Number(r[1]));
    Object.assign(n, await body(req));
    return send(res, 200, n);
  }
  if (path === '/api/tokens' && req.method === 'GET') return send(res, 200, { tokens: state.tokens });
  if (path === '/api/tokens' && req.method === 'POST') {
    const b = await body(req);
    const token = 'ss_' + randomBytes(32).toString('hex');
    const t = { id: state.tokens.length + 1, name: b.name, prefix: token.slice(0, 11), created_at: now(), last_used: 0 };
    state.tokens.push(t);
    return send(res, 201, { ...t, token });
  }
  if ((r = m(/^\/api\/tokens\/(\d+)$/))) { state.tokens = state.tokens.filter((t) => t.id !== Number(r[1])); return send(res, 204); }
  if (path === '/api/settings') {
    if (req.method === 'PUT') Object.assign(state.settings, await body(req));
    return send(res, 200, state.settings);
  }
  if (path === '/api/password') return send(res, 204);
  throw err(404, 'NotFound', `no route ${req.method} ${path}`);
}

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml' };
createServer(async (req, res) => {
  const url = new URL(req.url, 'http://x');
  if (url.pathname.startsWith('/api/')) {
    try {
      await api(req, res, url);
    } catch (e) {
      if (e && e.status) send(res, e.status, { code: e.code, message: e.message });
      else send(res, 500, { code: 'Internal', message: String(e) });
    }
    return;
  }
  let file = join(dist, url.pathname);
  if (!url.pathname.includes('..') && existsSync(file) && extname(file)) {
    res.writeHead(200, { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream' });
    return res.end(readFileSync(file));
  }
  file = join(dist, 'index.html');
  if (!existsSync(file)) return send(res, 404, { code: 'NotFound', message: 'run npm run build first' });
  res.writeHead(200, { 'Content-Type': TYPES['.html'], 'Content-Security-Policy': "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'" });
  res.end(readFileSync(file));
}).listen(port, '127.0.0.1', () => console.log(`StackSnap mock API on http://127.0.0.1:${port}`));
