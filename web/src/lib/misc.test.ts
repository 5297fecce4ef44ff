import { describe, expect, it } from 'vitest';
import type { ProjectSummary } from '../api/types';
import { passwordStrength } from './password';
import { describeFailingTarget, failingTargets, protectionOf } from './protection';

describe('passwordStrength', () => {
  it('grades by length and variety', () => {
    expect(passwordStrength('short', 10).label).toBe('Too short');
    expect(passwordStrength('aaaaaaaaaaaa', 10).score).toBeLessThanOrEqual(1);
    expect(passwordStrength('password1234', 10).score).toBeLessThanOrEqual(1);
    expect(passwordStrength('correct horse battery staple', 12).score).toBeGreaterThanOrEqual(3);
    expect(passwordStrength('Tr0ub4dor&3-xK9#mQ2!vL', 12).label).toBe('Strong');
  });
});

describe('protectionOf', () => {
  const now = 1_764_101_850;
  const base: ProjectSummary = {
    name: 'shop', state: 'running', services: 3, engines: ['postgres'], volumes: 2, binds: 1, warnings: [],
    last_backup: null, schedule: null, running_job: null,
  };
  const backup = { id: 'b', created_at: now - 3600, stored_bytes: 1, verify_result: 'ok', drill_result: '' };
  const schedule = { cron: '0 3 * * *', timezone: 'UTC', enabled: true, next_run: now + 3600 };

  it('no backup → unprotected', () => {
    expect(protectionOf(base, now).level).toBe('unprotected');
    expect(protectionOf({ ...base, schedule }, now).level).toBe('unprotected');
  });
  it('backup + schedule → protected', () => {
    expect(protectionOf({ ...base, last_backup: backup, schedule }, now).level).toBe('protected');
  });
  it('backup without schedule → stale', () => {
    expect(protectionOf({ ...base, last_backup: backup }, now).level).toBe('stale');
    expect(protectionOf({ ...base, last_backup: backup, schedule: { ...schedule, enabled: false } }, now).level).toBe('stale');
  });
  it('failed verify or drill → failing', () => {
    expect(protectionOf({ ...base, last_backup: { ...backup, verify_result: 'failed: tag mismatch' }, schedule }, now).level).toBe('failing');
    expect(protectionOf({ ...base, last_backup: { ...backup, drill_result: 'failed' }, schedule }, now).level).toBe('failing');
  });
  it('overdue schedule → stale; running job wins', () => {
    expect(protectionOf({ ...base, last_backup: backup, schedule: { ...schedule, next_run: now - 7200 } }, now).label).toBe('Overdue');
    expect(protectionOf({ ...base, running_job: { id: 1, kind: 'backup', state: 'running' } }, now).level).toBe('running');
  });
  it('a failing target → failing, naming the target and since when', () => {
    const targets = [
      { target: 'nas', last_success_at: now - 600, last_failure_at: 0, failing_since: 0, last_error: '' },
      { target: 'offsite', last_success_at: now - 86400, last_failure_at: now - 300, failing_since: now - 7200, last_error: 'connection refused' },
    ];
    const prot = protectionOf({ ...base, last_backup: backup, schedule, targets }, now);
    expect(prot.level).toBe('failing');
    expect(prot.label).toBe('offsite failing since 2 h ago');
    expect(prot.target).toBe('offsite');
    expect(prot.reason).toBe('storing on offsite fails since 2 h ago (last success 1 d ago): connection refused');
    // Healthy targets only: protected as before.
    expect(protectionOf({ ...base, last_backup: backup, schedule, targets: [targets[0]] }, now).level).toBe('protected');
    // A running job still wins; no backup at all is still unprotected, with the reason.
    expect(protectionOf({ ...base, last_backup: backup, schedule, targets, running_job: { id: 3, kind: 'backup', state: 'running' } }, now).level).toBe('running');
    const none = protectionOf({ ...base, schedule, targets }, now);
    expect(none.level).toBe('unprotected');
    expect(none.reason).toContain('storing on offsite fails since 2 h ago');
  });
  it('several failing targets: the longest failing first', () => {
    const targets = [
      { target: 'b', last_success_at: 0, last_failure_at: now, failing_since: now - 60, last_error: 'x' },
      { target: 'a', last_success_at: 0, last_failure_at: now, failing_since: now - 3600, last_error: '' },
    ];
    expect(failingTargets({ targets }).map((t) => t.target)).toEqual(['a', 'b']);
    expect(protectionOf({ ...base, last_backup: backup, schedule, targets }, now).label).toBe('a failing since 1 h ago (+1 more)');
    expect(describeFailingTarget(targets[1], now)).toBe('storing on a fails since 1 h ago (never stored there)');
    expect(failingTargets({})).toEqual([]);
  });
});
