// Status badges shared by the pages.
import type { Copy, JobState, ProjectState } from '../api/types';
import { formatAgo, formatDateTime } from '../lib/format';
import type { Protection } from '../lib/protection';
import { Badge, Dot, Spinner, type Tone } from './ui';

export const PROTECTION_TONE: Record<Protection, Tone> = {
  protected: 'green',
  stale: 'amber',
  failing: 'red',
  unprotected: 'red',
  running: 'indigo',
};

export function ProjectStateBadge({ state }: { state: ProjectState }) {
  const tone: Record<ProjectState, Tone> = { running: 'green', partial: 'amber', stopped: 'slate', absent: 'slate' };
  const label: Record<ProjectState, string> = { running: 'Running', partial: 'Partly running', stopped: 'Stopped', absent: 'Not on this host' };
  return (
    <span className="inline-flex items-center gap-1.5 text-xs text-slate-600 dark:text-slate-400">
      <Dot tone={tone[state] ?? 'slate'} />
      {label[state] ?? state}
    </span>
  );
}

export function JobStateBadge({ state }: { state: JobState }) {
  switch (state) {
    case 'queued':
      return <Badge tone="slate">Queued</Badge>;
    case 'running':
      return (
        <Badge tone="indigo">
          <Spinner className="h-3 w-3" /> Running
        </Badge>
      );
    case 'succeeded':
      return <Badge tone="green">Succeeded</Badge>;
    case 'partial':
      return <Badge tone="red" title="Done, but not on every target it was asked for">Partial</Badge>;
    case 'failed':
      return <Badge tone="red">Failed</Badge>;
    case 'cancelled':
      return <Badge tone="amber">Cancelled</Badge>;
    case 'interrupted':
      return <Badge tone="amber">Interrupted</Badge>;
    default:
      return <Badge>{state}</Badge>;
  }
}

export function VerifyBadge({ result }: { result: string }) {
  if (!result) return <Badge tone="slate">Not verified</Badge>;
  if (result === 'ok') return <Badge tone="green">Verified</Badge>;
  return (
    <Badge tone="red" title={result}>
      Verify failed
    </Badge>
  );
}

/** One copy of a backup and what its last check found. */
export function CopyBadge({ copy }: { copy: Copy }) {
  const state = copy.verify_state ?? '';
  const when = copy.verified_at ? ` on ${formatDateTime(copy.verified_at)}` : '';
  const title = state ? `${state}${when}${copy.verify_detail ? `: ${copy.verify_detail}` : ''}` : 'not checked since it was stored';
  const tone: Tone = state === 'verified' ? 'green' : state === 'damaged' ? 'red' : state === 'unreachable' ? 'amber' : 'slate';
  const ago = copy.verified_at ? ` ${formatAgo(copy.verified_at)}` : '';
  const label = state === 'verified' ? `verified${ago}` : state === 'damaged' ? `damaged${ago ? ` (checked${ago})` : ''}` : state === 'unreachable' ? `unreachable${ago ? ` (tried${ago})` : ''}` : 'stored, not checked since';
  return (
    <span data-testid="copy-badge" data-target={copy.target} data-state={state || 'unchecked'}>
      <Badge tone={tone} title={title}>
        {copy.target}: {label}
      </Badge>
    </span>
  );
}

export function DrillBadge({ result }: { result: string }) {
  if (!result) return <Badge tone="slate">No drill</Badge>;
  if (result === 'passed') return <Badge tone="green">Drill passed</Badge>;
  return <Badge tone="red">Drill failed</Badge>;
}

export const JOB_KIND_LABEL: Record<string, string> = {
  backup: 'Backup',
  restore: 'Restore',
  verify: 'Verify',
  drill: 'Restore drill',
  prune: 'Prune',
  rebuild: 'Read storage',
  'repo-check': 'Check repository',
  'repo-gc': 'Free repository space',
};
