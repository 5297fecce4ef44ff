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
// Env: E2E_BASE_URL (required), E2E_SETUP_TOKEN (the server's one-time setup token; the
// onboarding is opened through the setup URL), E2E_PROJECT (default e2eshop), E2E_BACKUP_DIR (the
// local target's folder), E2E_JOB_TIMEOUT_S (default 300), E2E_SKIP_DOCKER=1 to skip
// the `docker` checks (development against a mock), CHROMIUM (default /usr/bin/chromium).
import { chromium } from 'playwright-core';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, readFileSync, writeFileSync } from 'node:fs';
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

  await step('restore as a new project', async () => {
    await openProject(project);
    await shot('project-with-backups');
    await page.getByTestId('backup-row').first().getByRole('button', { name: 'Restore' }).click();
    const dialog = page.getByRole('dialog', { name: 'Restore backup' });
    await dialog.waitFor();
    await dialog.getByLabel('New project name').fill(restored);
    await shot('restore-dialog', { fullPage: false });
    await dialog.getByTestId('restore-start').click();
    await waitForJob('restore');
    await shot('job-restore');
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

  await step('no browser errors', async () => {
    const serious = problems.filter((p) => !/Failed to load resource: the server responded with a status of (404|409|501)/.test(p) && !/EventSource/.test(p));
    if (serious.length) throw new Error(serious.join('\n'));
  });
}

let failed = false;
try {
  await main();
} catch {
  failed = true;
} finally {
  await browser?.close().catch(() => {});
}
const passed = results.filter((r) => r.ok).length;
log(`\nbrowser e2e: ${passed} passed, ${results.length - passed} failed (screenshots in tests/e2e/screenshots/)`);
process.exit(failed ? 1 : 0);
