import { useEffect } from 'react';
import { Link, useSearchParams } from 'react-router-dom';
import { enc } from '../api/client';
import type { Job } from '../api/types';
import { useLiveVersion } from '../auth';
import { IconList } from '../components/icons';
import { JOB_KIND_LABEL, JobStateBadge } from '../components/status';
import { Alert, Button, EmptyState, LoadingBlock, PageHeader } from '../components/ui';
import { useApi } from '../hooks/useApi';
import { formatAgo, formatDateTime, formatDuration } from '../lib/format';

export function JobsPage() {
  const [params] = useSearchParams();
  const project = params.get('project');
  const version = useLiveVersion();
  const jobs = useApi<{ jobs: Job[] }>(`/api/jobs?limit=100${project ? `&project=${enc(project)}` : ''}`, 15000);
  const { reload } = jobs;
  useEffect(() => {
    if (version > 0) reload();
  }, [version, reload]);

  return (
    <div>
      <PageHeader title="Jobs" subtitle={project ? `Backups, restores, verifies and drills of ${project}` : 'Backups, restores, verifies and drills'} actions={<Button onClick={reload}>Refresh</Button>} />
      {jobs.error && <Alert>{jobs.error.message}</Alert>}
      {!jobs.data && jobs.loading && <LoadingBlock />}
      {jobs.data && jobs.data.jobs.length === 0 && (
        <EmptyState icon={<IconList className="h-10 w-10" />} title="No jobs yet">
          Jobs appear here when you back up, verify, restore or drill a project.
        </EmptyState>
      )}
      {jobs.data && jobs.data.jobs.length > 0 && (
        <div className="overflow-hidden rounded-xl border border-slate-200 bg-white shadow-sm dark:border-slate-800 dark:bg-slate-900">
          <ul className="divide-y divide-slate-200 dark:divide-slate-800">
            {jobs.data.jobs.map((j) => (
              <li key={j.id} className="relative flex flex-col gap-1 px-4 py-3 hover:bg-slate-50 dark:hover:bg-slate-800/50 sm:flex-row sm:items-center sm:justify-between">
                <div className="min-w-0">
                  <Link to={`/jobs/${j.id}`} className="font-medium after:absolute after:inset-0 focus-visible:underline focus-visible:outline-none">
                    {JOB_KIND_LABEL[j.kind] ?? j.kind} {j.project && <>of {j.project}</>}
                  </Link>
                  <p className="truncate text-xs text-slate-500">
                    #{j.id} · {formatDateTime(j.created_at)} ({formatAgo(j.created_at)})
                    {j.finished_at && j.started_at ? ` · ${formatDuration(j.finished_at - j.started_at)}` : ''}
                    {j.params?.reason === 'schedule' ? ' · scheduled' : ''}
                    {j.error ? ` · ${j.error}` : ''}
                  </p>
                </div>
                <JobStateBadge state={j.state} />
              </li>
            ))}
          </ul>
        </div>
      )}
    </div>
  );
}
