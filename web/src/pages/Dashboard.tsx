import { useEffect, useMemo } from 'react';
import { Link } from 'react-router-dom';
import type { Job, ProjectSummary } from '../api/types';
import { useAuth, useLiveVersion } from '../auth';
import { IconBox, IconClock, IconDb, IconFlask, IconFolder, IconPlug, IconShield, IconStack, IconVolume, IconWarn } from '../components/icons';
import { PROTECTION_TONE, ProjectStateBadge } from '../components/status';
import { Alert, Badge, Button, EmptyState, PageHeader, Skeleton, cx } from '../components/ui';
import { useApi } from '../hooks/useApi';
import { formatAgo, formatBytes, plural } from '../lib/format';
import { protectionOf, type Protection } from '../lib/protection';
import { KeyLockedBanner } from '../components/KeyLockedBanner';

const ORDER: Record<Protection, number> = { failing: 0, unprotected: 1, stale: 2, running: 3, protected: 4 };

export function DashboardPage() {
  const version = useLiveVersion();
  const { onboarding } = useAuth();
  const projects = useApi<{ projects: ProjectSummary[] }>('/api/projects', 30000);
  const failures = useApi<{ jobs: Job[] }>('/api/jobs?state=failed&limit=20');
  const partials = useApi<{ jobs: Job[] }>('/api/jobs?state=partial&limit=20');
  const { reload } = projects;
  const reloadFailures = failures.reload;
  const reloadPartials = partials.reload;
  useEffect(() => {
    if (version > 0) {
      reload();
      reloadFailures();
      reloadPartials();
    }
  }, [version, reload, reloadFailures, reloadPartials]);

  const now = Date.now() / 1000;
  const list = useMemo(() => {
    const ps = projects.data?.projects ?? [];
    return ps
      .map((p) => ({ p, prot: protectionOf(p, now) }))
      .sort((a, b) => ORDER[a.prot.level] - ORDER[b.prot.level] || a.p.name.localeCompare(b.p.name));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [projects.data]);

  const counts = useMemo(() => {
    const c = { protected: 0, attention: 0 };
    for (const { prot } of list) {
      if (prot.level === 'protected' || prot.level === 'running') c.protected++;
      else c.attention++;
    }
    return c;
  }, [list]);

  // Recent failures that are newer than the project's last backup: something is wrong now.
  const recentFailures = useMemo(() => {
    const byProject = new Map(list.map(({ p }) => [p.name, p]));
    const jobs = [...(failures.data?.jobs ?? []), ...(partials.data?.jobs ?? [])].sort((a, b) => b.id - a.id);
    return jobs.filter((j) => {
      if (now - (j.finished_at || j.created_at) > 3 * 86400) return false;
      const p = byProject.get(j.project);
      return !p?.last_backup || p.last_backup.created_at < (j.finished_at || j.created_at);
    });
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [failures.data, partials.data, list]);
  const storageFailure = recentFailures.find((j) => j.kind === 'backup' && (j.state === 'partial' || j.error_code === 'Unavailable' || /target|storage|upload|s3/i.test(j.error)));

  const dockerDown = projects.error && (projects.error.code === 'Unavailable' || projects.error.status === 503);

  return (
    <div>
      <PageHeader
        title="Projects"
        subtitle={projects.data ? `${plural(list.length, 'Compose project')} on this host · ${counts.protected} protected · ${counts.attention} need attention` : 'Compose projects on this Docker host'}
        actions={
          <Button onClick={projects.reload} busy={projects.loading && !!projects.data}>
            Refresh
          </Button>
        }
      />

      <div className="space-y-4">
        {onboarding?.key && onboarding.key.configured && !onboarding.key.unlocked && <KeyLockedBanner />}
        {storageFailure && (
          <Alert title="Storage is failing" action={<Link className="font-medium underline" to="/settings#targets">Check targets</Link>}>
            The backup of <strong>{storageFailure.project}</strong> {storageFailure.state === 'partial' ? 'partly failed' : 'failed'} {formatAgo(storageFailure.finished_at)}: {storageFailure.error}
          </Alert>
        )}
        {!storageFailure && recentFailures.length > 0 && (
          <Alert tone="amber" title={`${plural(recentFailures.length, 'recent job')} failed`} action={<Link className="font-medium underline" to={`/jobs/${recentFailures[0].id}`}>Open the last one</Link>}>
            {recentFailures[0].kind} of {recentFailures[0].project}: {recentFailures[0].error || recentFailures[0].state}
          </Alert>
        )}

        {dockerDown && (
          <EmptyState
            icon={<IconPlug className="h-10 w-10" />}
            title="Docker is not reachable"
            action={<Button variant="primary" onClick={projects.reload}>Try again</Button>}
          >
            <p>StackSnap cannot talk to the Docker Engine, so it cannot list your stacks.</p>
            <p className="mt-2 font-mono text-xs">{projects.error!.message}</p>
            <p className="mt-2">Check that dockerd is running and that StackSnap can read <code className="font-mono">/var/run/docker.sock</code> (or <code className="font-mono">DOCKER_HOST</code>).</p>
          </EmptyState>
        )}
        {projects.error && !dockerDown && (
          <Alert title="Could not load projects" action={<Button size="sm" onClick={projects.reload}>Retry</Button>}>
            {projects.error.message}
          </Alert>
        )}

        {!projects.data && projects.loading && (
          <div className="grid gap-4 md:grid-cols-2">
            {[0, 1, 2, 3].map((i) => (
              <Skeleton key={i} className="h-48" />
            ))}
          </div>
        )}

        {projects.data && list.length === 0 && !dockerDown && (
          <EmptyState icon={<IconStack className="h-10 w-10" />} title="No Compose projects found">
            <p>StackSnap finds stacks by the labels Docker Compose puts on containers. Start one and it shows up here:</p>
            <pre className="mt-3 rounded-md bg-slate-100 px-3 py-2 text-left font-mono text-xs dark:bg-slate-800">cd my-stack && docker compose up -d</pre>
          </EmptyState>
        )}

        {list.length > 0 && (
          <ul className="grid grid-cols-1 gap-4 md:grid-cols-2" aria-label="Projects">
            {list.map(({ p, prot }) => (
              <ProjectCard key={p.name} p={p} level={prot.level} label={prot.label} reason={prot.reason} now={now} />
            ))}
          </ul>
        )}
      </div>
    </div>
  );
}

function ProjectCard({ p, level, label, reason, now }: { p: ProjectSummary; level: Protection; label: string; reason: string; now: number }) {
  const attention = level === 'unprotected' || level === 'failing';
  const lb = p.last_backup;
  return (
    <li
      data-testid={`project-card-${p.name}`}
      data-protection={level}
      className={cx(
        'group relative flex flex-col rounded-xl border bg-white shadow-sm transition hover:shadow-md dark:bg-slate-900',
        attention ? 'border-red-300 ring-1 ring-red-200 dark:border-red-500/50 dark:ring-red-500/20' : level === 'stale' ? 'border-amber-300 dark:border-amber-500/40' : 'border-slate-200 dark:border-slate-800',
      )}
    >
      {attention && <div aria-hidden className="absolute inset-y-0 left-0 w-1 rounded-l-xl bg-red-500" />}
      <div className="flex items-start justify-between gap-3 px-5 pt-4">
        <div className="min-w-0">
          <h2 className="truncate text-lg font-semibold">
            <Link to={`/projects/${encodeURIComponent(p.name)}`} className="after:absolute after:inset-0 focus-visible:outline-none group-focus-within:underline">
              {p.name}
            </Link>
          </h2>
          <ProjectStateBadge state={p.state} />
          {p.state === 'absent' && p.last_backup && (
            <Link
              to={`/projects/${encodeURIComponent(p.name)}?restore=1`}
              className="relative z-10 ml-2 rounded text-xs font-medium text-indigo-700 underline focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 dark:text-indigo-300"
              data-testid={`restore-absent-${p.name}`}
            >
              Restore
            </Link>
          )}
        </div>
        <Badge tone={PROTECTION_TONE[level]} title={reason}>
          {level === 'protected' ? <IconShield className="h-3.5 w-3.5" /> : level !== 'running' ? <IconWarn className="h-3.5 w-3.5" /> : null}
          {label}
        </Badge>
      </div>
      <div className="flex flex-wrap gap-x-4 gap-y-1 px-5 pt-3 text-sm text-slate-600 dark:text-slate-400">
        <span className="inline-flex items-center gap-1.5"><IconBox className="h-4 w-4" />{plural(p.services, 'service')}</span>
        <span className="inline-flex items-center gap-1.5"><IconVolume className="h-4 w-4" />{plural(p.volumes, 'volume')}</span>
        <span className="inline-flex items-center gap-1.5"><IconFolder className="h-4 w-4" />{plural(p.binds, 'bind mount')}</span>
      </div>
      <div className="flex min-h-[1.75rem] flex-wrap gap-1.5 px-5 pt-2">
        {p.engines.length === 0 ? (
          <span className="text-xs text-slate-500">No databases detected</span>
        ) : (
          p.engines.map((e) => (
            <Badge key={e} tone="blue">
              <IconDb className="h-3 w-3" />
              {e}
            </Badge>
          ))
        )}
      </div>
      <dl className="mt-4 grid grid-cols-3 gap-2 border-t border-slate-100 px-5 py-3 text-xs dark:border-slate-800">
        <div>
          <dt className="text-slate-500">Last backup</dt>
          <dd className={cx('mt-0.5 font-medium', !lb && 'text-red-600 dark:text-red-400')}>
            {lb ? (
              <>
                {formatAgo(lb.created_at, now)}
                <span className="block font-normal text-slate-500">
                  {formatBytes(lb.stored_bytes)}
                  {lb.verify_result === 'ok' ? ' · verified' : lb.verify_result ? ' · verify failed' : ''}
                </span>
              </>
            ) : (
              'Never'
            )}
          </dd>
        </div>
        <div>
          <dt className="flex items-center gap-1 text-slate-500"><IconClock className="h-3.5 w-3.5" />Next run</dt>
          <dd className={cx('mt-0.5 font-medium', !(p.schedule && p.schedule.enabled) && 'text-amber-700 dark:text-amber-400')}>
            {p.schedule && p.schedule.enabled ? (
              <>
                {formatAgo(p.schedule.next_run, now)}
                <span className="block truncate font-mono font-normal text-slate-500">{p.schedule.cron}</span>
              </>
            ) : (
              'Not scheduled'
            )}
          </dd>
        </div>
        <div>
          <dt className="flex items-center gap-1 text-slate-500"><IconFlask className="h-3.5 w-3.5" />Last drill</dt>
          <dd className={cx('mt-0.5 font-medium', lb?.drill_result === 'failed' && 'text-red-600 dark:text-red-400')}>
            {lb?.drill_result === 'passed' ? 'Passed' : lb?.drill_result === 'failed' ? 'Failed' : 'Never'}
          </dd>
        </div>
      </dl>
    </li>
  );
}
