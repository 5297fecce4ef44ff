// How well a project is protected, from its list entry: the dashboard's status badge.
import type { ProjectSummary, TargetHealth } from '../api/types';
import { formatAgo } from './format';

export type Protection = 'protected' | 'stale' | 'failing' | 'unprotected' | 'running';

export interface ProtectionStatus {
  level: Protection;
  label: string;
  reason: string;
  /** The target that fails, when that is why the project is failing. */
  target?: string;
}

/** The project's targets where storing its backups fails now, failing longest first. */
export function failingTargets(p: Pick<ProjectSummary, 'targets'>): TargetHealth[] {
  return (p.targets ?? []).filter((t) => t.failing_since > 0).sort((a, b) => a.failing_since - b.failing_since || a.target.localeCompare(b.target));
}

/** "storing on offsite fails since 2 h ago (last success 1 d ago): connection refused" */
export function describeFailingTarget(t: TargetHealth, now = Date.now() / 1000): string {
  const last = t.last_success_at ? `last success ${formatAgo(t.last_success_at, now)}` : 'never stored there';
  return `storing on ${t.target} fails since ${formatAgo(t.failing_since, now)} (${last})${t.last_error ? `: ${t.last_error}` : ''}`;
}

/** A backup older than this (seconds) without a schedule, or overdue by this much, is stale. */
export const STALE_AFTER_S = 2 * 24 * 3600;

export function protectionOf(p: ProjectSummary, now = Date.now() / 1000): ProtectionStatus {
  const lb = p.last_backup;
  const sched = p.schedule && p.schedule.enabled ? p.schedule : null;
  if (p.running_job && (p.running_job.state === 'running' || p.running_job.state === 'queued')) {
    return { level: 'running', label: p.running_job.kind === 'backup' ? 'Backing up' : capitalize(p.running_job.kind) + ' running', reason: `job ${p.running_job.id} is ${p.running_job.state}` };
  }
  const failing = failingTargets(p);
  const failingText = failing.map((f) => describeFailingTarget(f, now)).join('; ');
  if (!lb) {
    return {
      level: 'unprotected',
      label: 'Unprotected',
      reason: failingText || (sched ? 'scheduled, but no backup has been made yet' : 'no backup and no schedule'),
    };
  }
  if (failing.length > 0) {
    const t = failing[0];
    const more = failing.length > 1 ? ` (+${failing.length - 1} more)` : '';
    return {
      level: 'failing',
      label: `${t.target} failing since ${formatAgo(t.failing_since, now)}${more}`,
      reason: failingText,
      target: t.target,
    };
  }
  if (lb.verify_result && lb.verify_result.startsWith('failed')) {
    return { level: 'failing', label: 'Verify failed', reason: lb.verify_result };
  }
  if (lb.drill_result === 'failed') {
    return { level: 'failing', label: 'Drill failed', reason: 'the last restore drill failed' };
  }
  const age = now - lb.created_at;
  if (!sched) {
    return age > STALE_AFTER_S
      ? { level: 'stale', label: 'No schedule', reason: 'the last backup is old and nothing is scheduled' }
      : { level: 'stale', label: 'No schedule', reason: 'backed up manually; nothing is scheduled' };
  }
  if (sched.next_run && sched.next_run < now - 3600) {
    return { level: 'stale', label: 'Overdue', reason: 'the scheduled run is more than an hour late' };
  }
  return { level: 'protected', label: 'Protected', reason: 'scheduled and backed up' };
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
