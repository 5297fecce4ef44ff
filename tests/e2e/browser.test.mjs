// Browser end-to-end test of the dashboard: headless Debian chromium driven by
// playwright-core against a running StackSnap server (started by run-browser.sh with
// the real binary, a real dockerd and the `shop` fixture stack running as $E2E_PROJECT).
//
// Flow: onboarding → projects shown → back up with Safe Mode while watching the live
// log → verify (every copy's state shown) → drill → restore as a new project → see it
// running → a target that fails makes the next backup partial (job page, dashboard
// badge, project alert) until it is removed. Saves a screenshot
// of each main page to tests/e2e/screenshots/<name>.png. Every step is named: a failure
// prints which step failed, why, and saves screenshots/FAILED-<step>.png.
//
// Issue 17 (the dashboard does what the CLI does): the copy restore of a project that
// publishes a host port, from the dialog, while the original keeps running; a damaged
// copy shown as damaged and a restore problem shown on the job page; then the disaster:
// a second server on a fresh data dir (E2E_BIN) is claimed in the browser, imports the
// key from the recovery file downloaded during the first onboarding, connects the S3
// target (the real S3 test server) with its secret, lists the project that no longer
// exists on this host, restores it while the live log runs, and the stack runs with its
// data (row counts checked through docker exec). New pages and dialogs are shot light and
// dark (<name>.png, <name>-dark.png).
//
// Env: E2E_BASE_URL (required), E2E_SETUP_TOKEN (the server's one-time setup token; the
// onboarding is opened through the setup URL), E2E_PROJECT (default e2eshop), E2E_BACKUP_DIR (the
// local target's folder), E2E_JOB_TIMEOUT_S (default 300), E2E_SKIP_DOCKER=1 to skip
// the `docker` checks (development against a mock), CHROMIUM (default /usr/bin/chromium).
import { chromium } from 'playwright-core';
import { execFileSync } from 'node:child_process';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const base = process.env.E2E_BASE_URL;
if (!base) {
  console.error('E2E_BASE_URL is not set (run tests/e2e/run-browser.sh)');
  process.exit(2);
}
const setupToken = process.env.E2E_SETUP_TOKEN ?? '';
const project = process.env.E2E_PROJECT ?? 'e2eshop';
const restored = `${project}-restored`;
const backupDir = process.env.E2E_BACKUP_DIR ?? '/tmp/stacksnap-e2e-backups';
const jobTimeout = Number(process.env.E2E_JOB_TIMEOUT_S ?? 300) * 1000;
const skipDocker = process.env.E2E_SKIP_DOCKER === '1';
const shots = join(here, 'screenshots');
const password = 'e2e-admin-password-7431';
mkdirSync(shots, { recursive: true });
for (const f of readdirSync(shots)) if (f.startsWith('FAILED-')) rmSync(join(shots, f), { force: true });

const results = [];
const problems = []; // console errors, CSP violations, failed requests
let page;
let context;
let browser;

function log(msg) {
  process.stdout.write(`${msg}\n`);
}

async function shot(name, opts = {}) {
  await page.waitForTimeout(150); // let transitions settle
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: opts.fullPage ?? true });
}

/** The page light, then dark (the theme class switched for the shot, then put back). */
async function shotBoth(name, opts = {}) {
  const wasDark = await page.evaluate(() => document.documentElement.classList.contains('dark'));
  await page.evaluate(() => document.documentElement.classList.remove('dark'));
  await shot(name, opts);
  await page.evaluate(() => document.documentElement.classList.add('dark'));
  await shot(`${name}-dark`, opts);
  await page.evaluate((d) => document.documentElement.classList.toggle('dark', d), wasDark);
}

const stackDir = process.env.E2E_STACK_DIR ?? '';
const webPort = process.env.E2E_WEB_PORT ?? '';
const bin = process.env.E2E_BIN ?? '';
const workDir = process.env.E2E_TMP ?? '/tmp';
const recoveryFile = join(workDir, 'recovery-key.txt');
const s3 = {
  endpoint: process.env.STACKSNAP_S3_ENDPOINT ?? '',
  bucket: process.env.STACKSNAP_S3_BUCKET ?? '',
  region: process.env.STACKSNAP_S3_REGION ?? 'us-east-1',
  accessKey: process.env.STACKSNAP_S3_ACCESS_KEY ?? '',
  secretKey: process.env.STACKSNAP_S3_SECRET_KEY ?? '',
  prefix: `e2e-${process.pid}-${Date.now()}`,
};

async function step(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
    results.push({ name, ok: true, ms: Date.now() - t0 });
    log(`  ok    ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  } catch (e) {
    results.push({ name, ok: false, ms: Date.now() - t0 });
    log(`  FAIL  ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    log(`\nbrowser e2e FAILED at step "${name}": ${e?.message?.split('\n').slice(0, 6).join('\n        ') ?? e}`);
    try {
      log(`        page: ${page.url()}`);
      const alert = await page.locator('[role=alert]').allInnerTexts();
      if (alert.length) log(`        alerts on the page: ${alert.join(' | ').slice(0, 600)}`);
      await page.screenshot({ path: join(shots, `FAILED-${name.replace(/[^a-z0-9]+/gi, '-')}.png`), fullPage: true });
      log(`        screenshot: tests/e2e/screenshots/FAILED-${name.replace(/[^a-z0-9]+/gi, '-')}.png`);
    } catch {
      /* the page may be gone */
    }
    if (problems.length) log(`        browser console:\n          ${problems.slice(-10).join('\n          ')}`);
    throw e;
  }
}

/** A mutating API call with the page's session (cookie and CSRF token). */
async function api(method, path, data) {
  const session = await (await page.request.get(`${base}/api/session`)).json();
  const r = await page.request.fetch(`${base}${path}`, { method, data, headers: { 'X-CSRF-Token': session.csrf_token ?? '' } });
  if (r.status() >= 300) throw new Error(`${method} ${path}: HTTP ${r.status()} ${await r.text()}`);
  return r;
}

function docker(...args) {
  return execFileSync('docker', args, { encoding: 'utf8' }).trim();
}

/** Waits on the job page until the job ends; returns its result. Fails on any other result than `expected`. */
async function waitForJob(label, expected = 'succeeded') {
  await page.waitForURL(/\/jobs\/\d+$/, { timeout: 15000 });
  const jobPage = page.getByTestId('job-page');
  await jobPage.waitFor({ timeout: 15000 });
  await page.waitForFunction(
    () => {
      const r = document.querySelector('[data-testid=job-page]')?.getAttribute('data-result');
      return r && r !== 'running';
    },
    null,
    { timeout: jobTimeout, polling: 250 },
  );
  const result = await jobPage.getAttribute('data-result');
  if (result !== expected) {
    const reason = await page.getByTestId('job-failure').innerText().catch(() => '(no failure banner)');
    const lines = await page.getByTestId('job-log').innerText().catch(() => '');
    throw new Error(`${label} job ended "${result}": ${reason.replace(/\s+/g, ' ').slice(0, 400)}\n        last log lines: ${lines.split('\n').slice(-6).join(' ⏎ ')}`);
  }
  return result;
}

async function openProject(name) {
  await page.goto(`${base}/projects/${encodeURIComponent(name)}`);
  await page.getByRole('heading', { name, level: 1 }).waitFor();
  await page.getByTestId('backup-row').first().waitFor({ timeout: 5000 }).catch(() => {});
}

async function main() {
  log(`browser e2e against ${base} (project ${project})`);
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-dev-shm-usage'],
  });
  context = await browser.newContext({ viewport: { width: 1280, height: 860 }, acceptDownloads: true, colorScheme: 'light' });
  page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.setDefaultTimeout(20000);

  await step('load the dashboard through the setup URL (no CSP violations)', async () => {
    await page.goto(`${base}/?setup_token=${encodeURIComponent(setupToken)}`);
    await page.getByRole('heading', { name: 'Set up StackSnap' }).waitFor();
    if (page.url().includes('setup_token')) throw new Error(`the setup token stays in the address bar: ${page.url()}`);
    const csp = problems.filter((p) => /Content Security Policy/i.test(p));
    if (csp.length) throw new Error(`CSP violations: ${csp.join('; ')}`);
  });

  await step('onboarding: admin password', async () => {
    await page.getByLabel('Password', { exact: true }).fill(password);
    await page.getByLabel('Repeat password').fill(password);
    await page.getByText(/Strength:/).waitFor();
    await shot('onboarding-1-admin');
    await page.getByRole('button', { name: 'Create admin and continue' }).click();
    await page.getByRole('heading', { name: 'Where to store backups' }).waitFor();
  });

  await step('onboarding: storage with Test connection', async () => {
    await page.getByLabel('Folder path', { exact: true }).fill(backupDir);
    await page.getByRole('button', { name: 'Test connection' }).click();
    await page.getByText('Connection works').waitFor({ timeout: 30000 });
    await shot('onboarding-2-storage');
    await page.getByRole('button', { name: 'Save and continue' }).click();
    await page.getByRole('heading', { name: 'Encryption' }).waitFor();
  });

  await step('onboarding: generate key, download recovery file, confirm', async () => {
    await page.getByRole('button', { name: 'Generate key' }).click();
    const key = page.getByTestId('recovery-key');
    await key.waitFor();
    const hex = (await key.innerText()).replace(/\s+/g, '');
    if (!/^[0-9a-f]{64}$/i.test(hex)) throw new Error(`the recovery key shown is not 64 hex digits: ${hex}`);
    const continueBtn = page.getByRole('button', { name: 'Continue' });
    if (await continueBtn.isEnabled()) throw new Error('Continue is enabled before the key was confirmed as saved');
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download recovery file' }).click()]);
    const file = await download.path();
    if (!readFileSync(file, 'utf8').includes(hex)) throw new Error('the recovery file does not contain the key');
    copyFileSync(file, recoveryFile); // for the new machine, later
    await page.getByTestId('open-recovery-sheet').click();
    await page.getByTestId('recovery-qr').waitFor();
    const sheetKey = (await page.getByTestId('recovery-key-text').innerText()).replace(/\s+/g, '');
    if (sheetKey !== hex) throw new Error('the recovery sheet does not show the key');
    await shotBoth('recovery-sheet');
    await page.getByRole('button', { name: 'Close' }).click();
    await page.getByLabel('I have saved the recovery key in a safe place.').check();
    await shot('onboarding-3-key');
    await continueBtn.click();
  });

  await step('onboarding: done, detected projects appear', async () => {
    await page.getByRole('heading', { name: 'StackSnap is ready' }).waitFor();
    await page.getByTestId('onboarding-projects').getByText(project, { exact: true }).waitFor({ timeout: 30000 });
    await shot('onboarding-4-done');
    await page.getByRole('button', { name: 'Go to the dashboard' }).click();
  });

  await step('dashboard shows the project as unprotected', async () => {
    const card = page.getByTestId(`project-card-${project}`);
    await card.waitFor({ timeout: 30000 });
    const level = await card.getAttribute('data-protection');
    if (level !== 'unprotected') throw new Error(`expected the never-backed-up project to be "unprotected", it is "${level}"`);
    await card.getByText('postgres').waitFor();
    await shot('dashboard');
  });

  await step('project page: Back up now with Safe Mode', async () => {
    await page.getByTestId(`project-card-${project}`).getByRole('link', { name: project }).click();
    await page.getByRole('heading', { name: project, level: 1 }).waitFor();
    await page.getByText('What gets backed up').waitFor();
    await page.getByRole('switch', { name: 'Safe Mode', exact: true }).click();
    if ((await page.getByRole('switch', { name: 'Safe Mode', exact: true }).getAttribute('aria-checked')) !== 'true') throw new Error('Safe Mode did not switch on');
    await shot('project');
    await page.getByTestId('backup-now').click();
  });

  await step('backup job: live log, steps and success', async () => {
    await page.waitForURL(/\/jobs\/\d+$/, { timeout: 15000 });
    // Watch the live log: lines must arrive over SSE while the job runs or right after.
    await page.getByTestId('job-log').locator('[data-seq]').first().waitFor({ timeout: 60000 });
    const status = await page.getByTestId('stream-status').getAttribute('data-status');
    log(`        stream status while watching: ${status}`);
    if ((await page.getByTestId('job-page').getAttribute('data-result')) === 'running') await shot('job-backup-running', { fullPage: false });
    await waitForJob('backup');
    const steps = await page.getByTestId('job-steps').locator('li').count();
    if (steps === 0) throw new Error('the step checklist stayed empty');
    const safe = await page.getByTestId('job-log').innerText();
    if (!/safe mode|pause/i.test(safe)) log('        note: the log does not mention Safe Mode / pausing');
    await shot('job-backup');
  });

  await step('verify the backup: every copy checked and shown', async () => {
    await openProject(project);
    await page.getByTestId('backup-row').first().getByRole('button', { name: 'Verify' }).click();
    await waitForJob('verify');
    await shot('job-verify');
    await openProject(project);
    const copy = page.getByTestId('backup-row').first().getByTestId('copy-badge').first();
    await copy.waitFor();
    const state = await copy.getAttribute('data-state');
    if (state !== 'verified') throw new Error(`the copy badge says "${state}" after a verify, expected "verified"`);
  });

  await step('drill the backup', async () => {
    await openProject(project);
    await page.getByTestId('backup-row').first().getByRole('button', { name: 'Drill' }).click();
    await waitForJob('drill');
    await shot('job-drill');
  });

  await step('restore as a copy while the original runs: no published ports by default', async () => {
    await openProject(project);
    await shot('project-with-backups');
    await page.getByTestId('backup-row').first().getByRole('button', { name: 'Restore' }).click();
    const dialog = page.getByRole('dialog', { name: 'Restore backup' });
    await dialog.waitFor();
    await dialog.getByLabel('Name of the copy').fill(restored);
    const noPorts = dialog.getByRole('switch', { name: 'Publish no host ports' });
    if ((await noPorts.getAttribute('aria-checked')) !== 'true') throw new Error('"Publish no host ports" is not on by default for a copy beside the running original');
    await shotBoth('restore-dialog', { fullPage: false });
    await dialog.getByTestId('restore-mode-same').check();
    await dialog.getByLabel(`Type “${project}” to confirm`).waitFor();
    await dialog.getByRole('switch', { name: 'Safety backup first' }).waitFor();
    await shotBoth('restore-dialog-in-place', { fullPage: false });
    await dialog.getByTestId('restore-mode-copy').check();
    await dialog.getByTestId('restore-start').click();
    await waitForJob('restore');
    await page.getByTestId('restore-applied').waitFor();
    await shotBoth('job-restore');
    if (!skipDocker && webPort) {
      // The original still holds its published port.
      const ports = docker('ps', '--filter', `label=com.docker.compose.project=${project}`, '--filter', 'label=com.docker.compose.service=web', '--format', '{{.Ports}}');
      if (!ports.includes(`:${webPort}->`)) throw new Error(`the original's web service no longer publishes ${webPort}: "${ports}"`);
      const copyPorts = docker('ps', '--filter', `label=com.docker.compose.project=${restored}`, '--format', '{{.Ports}}');
      if (copyPorts.includes(`:${webPort}->`)) throw new Error(`the copy publishes the original's port: ${copyPorts}`);
    }
  });

  await step('the restored project is running', async () => {
    await page.goto(base);
    const card = page.getByTestId(`project-card-${restored}`);
    await card.waitFor({ timeout: 30000 });
    await card.getByText('Running').waitFor({ timeout: 30000 });
    if (!skipDocker) {
      const running = docker('ps', '--filter', `label=com.docker.compose.project=${restored}`, '--filter', 'status=running', '--format', '{{.Names}}');
      if (!running) throw new Error(`docker ps shows no running container of ${restored}`);
      log(`        running containers of ${restored}: ${running.split('\n').join(', ')}`);
    }
    await shot('dashboard-after-restore');
    await openProject(restored);
    await shot('project-restored');
  });

  await step('a damaged copy is shown as damaged', async () => {
    await openProject(project);
    const row = page.getByTestId('backup-row').first();
    const id = await row.getAttribute('data-backup-id');
    // The target is a repository (the default format): every pack is damaged, so the
    // chunks of this backup are too. (An archive target: its one blob.)
    const blobs = [];
    const walk = (d, inData) => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        const p = join(d, e.name);
        if (e.isDirectory()) walk(p, inData || (d === backupDir && e.name === 'data'));
        else if (e.name === `${id}.stsnap` || inData) blobs.push(p);
      }
    };
    walk(backupDir, false);
    if (blobs.length === 0) throw new Error(`expected the packs (or the blob) of ${id} under ${backupDir}, found none`);
    for (const blob of blobs) {
      const buf = readFileSync(blob);
      buf[Math.floor(buf.length / 2)] ^= 0xff;
      writeFileSync(blob, buf);
    }
    await row.getByRole('button', { name: 'Verify' }).click();
    await waitForJob('verify of the damaged copy', 'failed');
    await openProject(project);
    const badge = page.locator(`[data-testid=backup-row][data-backup-id="${id}"]`).getByTestId('copy-badge').first();
    await badge.waitFor();
    if ((await badge.getAttribute('data-state')) !== 'damaged') throw new Error(`the copy badge says "${await badge.getAttribute('data-state')}", expected "damaged"`);
    if (!/damaged/.test(await badge.innerText())) throw new Error('the badge does not say damaged');
    await shotBoth('project-damaged-copy');
  });

  await step('a restore problem is shown on the job page', async () => {
    await openProject(project);
    const row = page.locator('[data-testid=backup-row]').filter({ has: page.locator('[data-state=damaged]') }).first();
    await row.getByRole('button', { name: 'Restore' }).click();
    const dialog = page.getByRole('dialog', { name: 'Restore backup' });
    await dialog.getByText(/Every copy of this backup is known to be damaged/).waitFor();
    await dialog.getByLabel('Name of the copy').fill(`${restored}2`);
    await dialog.getByTestId('restore-start').click();
    await waitForJob('restore of a damaged backup', 'failed');
    const banner = await page.getByTestId('job-failure').innerText();
    if (!/could not be fetched and verified|damaged|DataLoss/i.test(banner)) throw new Error(`the failure banner does not say what went wrong: ${banner}`);
    if (!/Nothing was changed on this host/.test(banner)) throw new Error(`the failure banner does not say that nothing changed: ${banner}`);
    await shotBoth('job-restore-problem');
  });

  await step('a failing target: the backup is partial, the project says which target since when', async () => {
    // A second local target whose folder is replaced by a file once it is saved.
    const broken = `${backupDir}-broken`;
    mkdirSync(broken, { recursive: true });
    await api('POST', '/api/targets', { name: 'broken', kind: 'local', config: { path: broken } });
    rmSync(broken, { recursive: true, force: true });
    writeFileSync(broken, 'not a folder');
    try {
      await openProject(project);
      await page.getByTestId('backup-now').click();
      await waitForJob('backup', 'partial');
      const banner = await page.getByTestId('job-partial').innerText();
      if (!/partly failed/.test(banner) || !banner.includes('broken')) throw new Error(`the partial banner does not name the target: ${banner}`);
      await shot('job-backup-partial');
      await page.goto(base);
      const card = page.getByTestId(`project-card-${project}`);
      await card.waitFor({ timeout: 30000 });
      await card.getByText(/broken failing since/).waitFor({ timeout: 30000 });
      if ((await card.getAttribute('data-protection')) !== 'failing') throw new Error('the project card is not "failing"');
      await shot('dashboard-failing-target');
      await openProject(project);
      await page.getByTestId('failing-targets').getByText(/storing on broken fails since/).waitFor();
      await page.getByTestId('backup-row').first().getByTestId('copy-badge').first().waitFor();
      await shot('project-failing-target');
    } finally {
      await api('DELETE', '/api/targets/broken?force=true').catch(() => {});
      rmSync(broken, { force: true });
    }
    await page.goto(base);
    const card = page.getByTestId(`project-card-${project}`);
    await card.waitFor({ timeout: 30000 });
    if ((await card.getAttribute('data-protection')) === 'failing') throw new Error('the project still says failing after the target was removed');
  });

  await step('jobs and settings pages', async () => {
    await page.goto(`${base}/jobs`);
    await page.getByRole('link', { name: new RegExp(`Restore of ${project}|Restore`) }).first().waitFor();
    await shot('jobs');
    await page.goto(`${base}/settings`);
    await page.getByTestId('key-fingerprint').waitFor();
    await page.getByRole('heading', { name: 'Storage targets' }).waitFor();
    await shot('settings');
    // The server's doctor (GET /api/doctor): the Engine it works with is found.
    await page.getByRole('button', { name: 'Run checks' }).click();
    const engineCheck = page.getByTestId('doctor-check-engine');
    await engineCheck.waitFor({ timeout: 60000 });
    if ((await engineCheck.getAttribute('data-state')) !== 'ok') throw new Error(`doctor: ${await engineCheck.textContent()}`);
    await page.getByTestId('doctor-check-key').waitFor();
    await page.locator('#doctor').scrollIntoViewIfNeeded();
    await shot('settings-doctor', { fullPage: false });
  });

  await step('dark theme and phone width', async () => {
    await page.goto(base);
    await page.getByRole('radio', { name: 'Dark theme' }).click();
    await page.getByTestId(`project-card-${project}`).waitFor();
    if (!(await page.evaluate(() => document.documentElement.classList.contains('dark')))) throw new Error('dark theme did not apply');
    await shot('dashboard-dark');
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(base);
    await page.getByTestId(`project-card-${project}`).waitFor();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    if (overflow > 1) {
      const wide = await page.evaluate(() => {
        const w = document.documentElement.clientWidth;
        return [...document.querySelectorAll('body *')]
          .filter((el) => el.getBoundingClientRect().right > w + 1)
          .slice(0, 5)
          .map((el) => `${el.tagName.toLowerCase()}.${String(el.className).split(' ').slice(0, 4).join('.')} "${(el.textContent ?? '').trim().slice(0, 40)}"`);
      });
      throw new Error(`the dashboard scrolls sideways at phone width (${overflow}px too wide): ${wide.join('; ')}`);
    }
    await shot('dashboard-phone-dark');
    await page.getByRole('radio', { name: 'Light theme' }).click();
    await openProject(project);
    await shot('project-phone');
  });

  await step('keyboard: skip link and focusable controls', async () => {
    await page.setViewportSize({ width: 1280, height: 860 });
    await page.goto(base);
    await page.getByTestId(`project-card-${project}`).waitFor();
    await page.keyboard.press('Tab');
    const first = await page.evaluate(() => document.activeElement?.textContent?.trim());
    if (first !== 'Skip to content') throw new Error(`the first Tab stop is "${first}", expected the skip link`);
  });

  await step('manual backup with options, then Prune now: the plan first, then the job', async () => {
    await openProject(project);
    await page.getByRole('button', { name: 'More options' }).click();
    const opts = page.getByTestId('backup-options');
    await opts.getByRole('switch', { name: 'Include database volumes' }).click();
    await opts.getByLabel('Hook timeout (seconds)').fill('30');
    await shotBoth('project-backup-options', { fullPage: false });
    await page.getByTestId('backup-now').click();
    await waitForJob('backup with options');
    const jobId = /\/jobs\/(\d+)$/.exec(page.url())[1];
    const job = await (await page.request.get(`${base}/api/jobs/${jobId}`)).json();
    if (job.params?.include_db_volumes !== true || job.params?.hook_timeout_s !== 30) throw new Error(`the backup job's params are ${JSON.stringify(job.params)}`);
    await api('PUT', `/api/projects/${encodeURIComponent(project)}/retention`, { target: '*', keep_last: 1 });
    await openProject(project);
    await page.getByTestId('prune-now').click();
    const dialog = page.getByRole('dialog', { name: `Prune ${project} now` });
    const preview = dialog.getByTestId('prune-preview');
    await preview.waitFor();
    const doomed = await preview.getByText('delete', { exact: true }).count();
    if (doomed < 1) throw new Error('the prune preview deletes nothing although keep_last is 1 and there are several backups');
    const before = (await (await page.request.get(`${base}/api/backups?project=${encodeURIComponent(project)}`)).json()).backups.length;
    await shotBoth('prune-preview', { fullPage: false });
    await dialog.getByTestId('prune-apply').click();
    await waitForJob('prune');
    const after = (await (await page.request.get(`${base}/api/backups?project=${encodeURIComponent(project)}`)).json()).backups.length;
    if (after !== before - doomed) throw new Error(`the preview said ${doomed} go; ${before} → ${after} backups`);
    await api('DELETE', `/api/projects/${encodeURIComponent(project)}/retention?target=*`);
  });

  if (bin && s3.endpoint && stackDir) await disaster();

  await step('no browser errors', async () => {
    const serious = problems.filter((p) => !/Failed to load resource: the server responded with a status of (404|409|501)/.test(p) && !/EventSource/.test(p));
    if (serious.length) throw new Error(serious.join('\n'));
  });
}

/** Waits until a job of the API answers a final state. */
async function apiJob(p, id) {
  for (let i = 0; i < jobTimeout / 500; i++) {
    const j = await (await p.request.get(`${base2 ?? base}/api/jobs/${id}`)).json();
    if (!['queued', 'running'].includes(j.state)) return j;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`job ${id} did not end`);
}

let base2 = null;
let server2 = null;

async function disaster() {
  let backupId = '';
  await step('first host: an S3 target, a backup stored there', async () => {
    base2 = null;
    await api('POST', '/api/targets', {
      name: 'offsite',
      kind: 's3',
      config: { endpoint: s3.endpoint, bucket: s3.bucket, region: s3.region, prefix: s3.prefix, addressing: 'path', access_key: s3.accessKey, secret_key: s3.secretKey },
    });
    const r = await (await api('POST', '/api/backups', { project, targets: ['offsite'] })).json();
    const j = await apiJob(page, r.job_id);
    if (j.state !== 'succeeded') throw new Error(`the backup to S3 ended ${j.state}: ${j.error}`);
    backupId = j.summary?.backup_id ?? '';
    log(`        backup ${backupId} stored on S3 under ${s3.prefix}`);
  });

  await step('the host dies: the project is gone from this Docker host', async () => {
    if (!skipDocker) {
      execFileSync(join(here, '../fixtures/stacks/down.sh'), ['shop', project, stackDir], { stdio: 'ignore' });
      const left = docker('ps', '-aq', '--filter', `label=com.docker.compose.project=${project}`);
      if (left) throw new Error(`containers of ${project} are left: ${left}`);
    }
  });

  await step('new machine: a second StackSnap on a fresh data dir, claimed in the browser', async () => {
    const data2 = join(workDir, 'data2');
    mkdirSync(data2, { recursive: true });
    const port2 = 20000 + Math.floor(Math.random() * 20000);
    base2 = `http://127.0.0.1:${port2}`;
    server2 = spawn(bin, ['--data-dir', data2, 'serve', '--listen', `127.0.0.1:${port2}`], { stdio: ['ignore', 'ignore', 'ignore'] });
    for (let i = 0; i < 100 && !existsSync(join(data2, 'setup-token')); i++) await new Promise((r) => setTimeout(r, 100));
    for (let i = 0; i < 100; i++) {
      try {
        if ((await fetch(`${base2}/api/health`)).ok) break;
      } catch {
        /* not yet */
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    const token = readFileSync(join(data2, 'setup-token'), 'utf8').trim();
    await context.close();
    context = await browser.newContext({ viewport: { width: 1280, height: 860 }, acceptDownloads: true, colorScheme: 'light' });
    page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console (new machine): ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error (new machine): ${e.message}`));
    page.setDefaultTimeout(20000);
    await page.goto(`${base2}/?setup_token=${encodeURIComponent(token)}`);
    await page.getByLabel('Password', { exact: true }).fill(password);
    await page.getByLabel('Repeat password').fill(password);
    await page.getByRole('button', { name: 'Create admin and continue' }).click();
    await page.getByRole('heading', { name: 'Where to store backups' }).waitFor();
  });

  await step('new machine: the S3 target with its secret (a wrong bucket is named as such first)', async () => {
    await page.getByText('S3-compatible').click();
    await page.getByLabel('Name', { exact: true }).fill('offsite');
    await page.getByLabel('Endpoint').fill(s3.endpoint);
    await page.getByLabel('Bucket').fill(`${s3.bucket}-missing`);
    await page.getByLabel('Region').fill(s3.region);
    await page.getByLabel('Prefix (optional)').fill(s3.prefix);
    await page.getByLabel('Addressing').selectOption('path');
    await page.getByLabel('Access key').fill(s3.accessKey);
    await page.getByLabel('Secret key').fill(s3.secretKey);
    await page.getByRole('button', { name: 'Test connection' }).click();
    const kind = page.getByTestId('target-test-kind');
    await kind.waitFor({ timeout: 30000 });
    if ((await kind.getAttribute('data-kind')) !== 'bucket_missing') throw new Error(`a missing bucket was reported as "${await kind.getAttribute('data-kind')}": ${await kind.innerText()}`);
    await shotBoth('target-test-bucket-missing');
    await page.getByLabel('Bucket').fill(s3.bucket);
    await page.getByRole('button', { name: 'Test connection' }).click();
    await page.getByText('Connection works').waitFor({ timeout: 30000 });
    await page.getByRole('button', { name: 'Save and continue' }).click();
    await page.getByRole('heading', { name: 'Encryption' }).waitFor();
  });

  await step('new machine: import the key from the recovery file, fingerprint shown before saving', async () => {
    await page.getByText('Import a recovery key').click();
    await page.getByTestId('recovery-upload').setInputFiles(recoveryFile);
    const fp = page.getByTestId('import-fingerprint');
    await fp.waitFor();
    const named = /Fingerprint:\s*([0-9a-f]{16})/.exec(readFileSync(recoveryFile, 'utf8'))?.[1];
    if ((await fp.innerText()).trim() !== named) throw new Error(`the fingerprint shown (${await fp.innerText()}) is not the recovery file's (${named})`);
    const key = await (await page.request.get(`${base2}/api/key`)).json();
    if (key.configured) throw new Error('the key was saved before "Import this key" was pressed');
    await shotBoth('onboarding-key-import');
    await page.getByRole('button', { name: 'Import this key' }).click();
  });

  await step('new machine: storage is read, the project not on this host is listed', async () => {
    await page.getByRole('heading', { name: 'StackSnap is ready' }).waitFor();
    await page.getByTestId('rebuild-results').getByText(/backups? found/).waitFor({ timeout: 60000 });
    const absent = page.getByTestId('absent-projects');
    await absent.getByRole('link', { name: `Restore ${project}` }).waitFor({ timeout: 30000 });
    await absent.getByText('Not on this host').first().waitFor();
    await shotBoth('onboarding-connect-storage');
    await absent.getByRole('link', { name: `Restore ${project}` }).click();
  });

  await step('new machine: restore it, watching the live log', async () => {
    const dialog = page.getByRole('dialog', { name: 'Restore backup' });
    await dialog.waitFor({ timeout: 30000 });
    await dialog.getByText(`In place, as ${project}`).waitFor();
    await shotBoth('restore-dialog-new-machine', { fullPage: false });
    await dialog.getByTestId('restore-start').click();
    await page.waitForURL(/\/jobs\/\d+$/, { timeout: 15000 });
    await page.getByTestId('job-log').locator('[data-seq]').first().waitFor({ timeout: 60000 });
    await waitForJob('restore on the new machine');
    await page.getByTestId('restore-applied').waitFor();
    await shotBoth('job-restore-new-machine');
  });

  await step('new machine: the stack runs with its data (row counts through exec)', async () => {
    if (skipDocker) return;
    const db = docker('ps', '-q', '--filter', `label=com.docker.compose.project=${project}`, '--filter', 'label=com.docker.compose.service=db', '--filter', 'status=running');
    if (!db) throw new Error(`no running db container of ${project}`);
    const count = (table) => docker('exec', db, 'psql', '-U', 'shop', '-d', 'shop', '-tAc', `SELECT count(*) FROM ${table}`);
    const accounts = count('accounts');
    const orders = count('orders');
    log(`        restored rows: accounts ${accounts}, orders ${orders}`);
    if (accounts !== '100' || orders !== '5000') throw new Error(`row counts differ: accounts ${accounts} (100), orders ${orders} (5000)`);
    const web = docker('ps', '-q', '--filter', `label=com.docker.compose.project=${project}`, '--filter', 'label=com.docker.compose.service=web', '--filter', 'status=running');
    if (!web) throw new Error('the web service does not run');
    const lines = docker('exec', web, 'sh', '-c', 'wc -l < /srv/data/reports/orders.txt');
    if (lines.trim() !== '2000') throw new Error(`the app volume's file has ${lines} lines, expected 2000`);
    await page.goto(base2);
    await page.getByTestId(`project-card-${project}`).getByText('Running').waitFor({ timeout: 30000 });
    await shotBoth('dashboard-new-machine');
  });

  await step('new machine: keyboard reaches the restore dialog, phone width', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${base2}/projects/${encodeURIComponent(project)}`);
    await page.getByTestId('backup-row').first().waitFor({ timeout: 15000 });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    if (overflow > 1) throw new Error(`the project page scrolls sideways at phone width (${overflow}px)`);
    const restoreBtn = page.getByTestId('backup-row').first().getByRole('button', { name: 'Restore' });
    await restoreBtn.focus();
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: 'Restore backup' });
    await dialog.waitFor();
    await shotBoth('restore-dialog-phone', { fullPage: false });
    await page.keyboard.press('Escape');
    await page.setViewportSize({ width: 1280, height: 860 });
  });
}

let failed = false;
try {
  await main();
} catch {
  failed = true;
} finally {
  await browser?.close().catch(() => {});
  if (server2) server2.kill('SIGTERM');
}
const passed = results.filter((r) => r.ok).length;
log(`\nbrowser e2e: ${passed} passed, ${results.length - passed} failed (screenshots in tests/e2e/screenshots/)`);
process.exit(failed ? 1 : 0);
