import { useEffect, useLayoutEffect, useRef, useState } from 'react';
import { Link, useParams } from 'react-router-dom';
import { api, enc, errorMessage } from '../api/client';
import type { Job } from '../api/types';
import { IconCheck, IconWarn, IconX } from '../components/icons';
import { JOB_KIND_LABEL, JobStateBadge } from '../components/status';
import { useToast } from '../components/toast';
import { Alert, Button, Card, EmptyState, KeyValue, LoadingBlock, PageHeader, ProgressBar, Spinner, cx } from '../components/ui';
import { useApi } from '../hooks/useApi';
import { useJobStream, type StreamStatus } from '../hooks/useJobStream';
import { failedTargetsOf, failureReason, findingsOf, type Findings, type JobView, type Step } from '../lib/jobEvents';
import { computeEta, formatBytes, formatClock, formatDateTime, formatDurationMs, formatEta, formatRate, percent } from '../lib/format';

function StreamIndicator({ status, reconnects }: { status: StreamStatus; reconnects: number }) {
  const map: Record<StreamStatus, [string, string]> = {
    connecting: ['bg-slate-400', 'Connecting…'],
    live: ['bg-emerald-500 animate-pulse', 'Live'],
    reconnecting: ['bg-amber-500', 'Reconnecting…'],
    closed: ['bg-slate-400', 'Finished'],
    error: ['bg-red-500', 'Disconnected'],
  };
  const [dot, text] = map[status];
  return (
    <span className="inline-flex items-center gap-1.5 text-xs text-slate-600 dark:text-slate-400" data-testid="stream-status" data-status={status}>
      <span aria-hidden className={cx('h-2 w-2 rounded-full', dot)} />
      {text}
      {reconnects > 0 && status !== 'closed' && <span className="text-slate-400">({reconnects} reconnect{reconnects > 1 ? 's' : ''})</span>}
    </span>
  );
}

function StepIcon({ state }: { state: Step['state'] }) {
  if (state === 'done')
    return (
      <span className="flex h-5 w-5 items-center justify-center rounded-full bg-emerald-100 text-emerald-700 dark:bg-emerald-500/20 dark:text-emerald-300">
        <IconCheck className="h-3.5 w-3.5" />
      </span>
    );
  if (state === 'failed')
    return (
      <span className="flex h-5 w-5 items-center justify-center rounded-full bg-red-100 text-red-700 dark:bg-red-500/20 dark:text-red-300">
        <IconX className="h-3.5 w-3.5" />
      </span>
    );
  return <Spinner className="h-5 w-5 text-indigo-600 dark:text-indigo-400" />;
}

const LEVEL_CLASS: Record<string, string> = {
  debug: 'text-slate-500',
  info: 'text-slate-200',
  warn: 'text-amber-300',
  error: 'text-red-400',
};

function LogPanel({ view }: { view: JobView }) {
  const box = useRef<HTMLDivElement>(null);
  const stick = useRef(true);
  useLayoutEffect(() => {
    const el = box.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [view.log.length]);
  return (
    <div
      ref={box}
      role="log"
      aria-label="Job log"
      tabIndex={0}
      onScroll={(e) => {
        const el = e.currentTarget;
        stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
      }}
      className="h-80 overflow-auto rounded-lg bg-slate-950 p-3 font-mono text-xs leading-5 text-slate-200 focus-visible:outline focus-visible:outline-2 focus-visible:outline-indigo-500 sm:h-96"
      data-testid="job-log"
    >
      {view.droppedLines > 0 && <div className="text-slate-500">… {view.droppedLines} earlier lines not shown</div>}
      {view.log.length === 0 && <div className="text-slate-500">Waiting for output…</div>}
      {view.log.map((l) => (
        <div key={l.seq} className="flex gap-3 whitespace-pre-wrap break-all" data-seq={l.seq}>
          <span className="shrink-0 select-none text-slate-500">{formatClock(l.ts)}</span>
          <span className={cx('min-w-0', LEVEL_CLASS[l.level] ?? 'text-slate-200')}>
            {l.level === 'warn' || l.level === 'error' ? <span className="font-semibold uppercase">{l.level} </span> : null}
            {l.message}
          </span>
        </div>
      ))}
    </div>
  );
}

function SummaryDetails({ job, summary }: { job: Job | undefined; summary: Record<string, unknown> }) {
  const items: [string, React.ReactNode][] = [];
  const num = (k: string) => (typeof summary[k] === 'number' ? (summary[k] as number) : undefined);
  const str = (k: string) => (typeof summary[k] === 'string' && summary[k] ? (summary[k] as string) : undefined);
  if (str('backup_id')) items.push(['Backup', <span className="font-mono text-xs">{str('backup_id')}</span>]);
  if (str('project') && job?.kind === 'restore') items.push(['Restored as', <Link className="text-indigo-600 hover:underline dark:text-indigo-400" to={`/projects/${enc(str('project')!)}`}>{str('project')}</Link>]);
  if (num('stored_bytes') !== undefined) items.push(['Stored', formatBytes(num('stored_bytes'))]);
  if (num('plaintext_bytes') !== undefined) items.push(['Data', formatBytes(num('plaintext_bytes'))]);
  if (num('files') !== undefined) items.push(['Files', String(num('files'))]);
  if (num('duration_ms') !== undefined) items.push(['Duration', formatDurationMs(num('duration_ms'))]);
  if (num('pause_ms') !== undefined && num('pause_ms')! > 0) items.push(['Containers paused', formatDurationMs(num('pause_ms'))]);
  if (Array.isArray(summary.targets) && summary.targets.length) items.push(['Targets', (summary.targets as string[]).join(', ')]);
  const failed = failedTargetsOf(summary);
  if (failed.length) items.push(['Failed targets', failed.map((t) => `${t.target}: ${t.message}`).join('; ')]);
  if (Array.isArray(summary.pruned) && summary.pruned.length) items.push(['Pruned', `${summary.pruned.length} old backups`]);
  for (const k of ['checks', 'services', 'databases', 'tables', 'rows']) {
    const v = summary[k];
    if (typeof v === 'number' || typeof v === 'string') items.push([k.charAt(0).toUpperCase() + k.slice(1), String(v)]);
  }
  if (items.length === 0) return null;
  return <KeyValue items={items} />;
}

/** The summary's problems and warnings (as warnings) and info (as notes), for any job. */
function FindingsPanel({ findings }: { findings: Findings }) {
  if (findings.warnings.length === 0 && findings.info.length === 0) return null;
  return (
    <div className="space-y-3" data-testid="job-findings">
      {findings.warnings.length > 0 && (
        <Alert tone="amber" title={findings.warnings.length === 1 ? '1 warning' : `${findings.warnings.length} warnings`}>
          <ul className="list-disc space-y-1 pl-4" data-testid="job-warnings">
            {findings.warnings.map((w, i) => (
              <li key={i} className="break-words">{w}</li>
            ))}
          </ul>
        </Alert>
      )}
      {findings.info.length > 0 && (
        <Alert tone="slate" title="Notes">
          <ul className="list-disc space-y-1 pl-4" data-testid="job-info">
            {findings.info.map((w, i) => (
              <li key={i} className="break-words">{w}</li>
            ))}
          </ul>
        </Alert>
      )}
    </div>
  );
}

/** A job that did its work, but not on every target it was asked for. */
function PartialBanner({ job, kindLabel, summary }: { job: Job | undefined; kindLabel: string; summary: Record<string, unknown> | null }) {
  const failed = failedTargetsOf(summary);
  return (
    <div role="alert" className="rounded-xl border border-red-300 bg-red-50 p-4 dark:border-red-500/40 dark:bg-red-500/10" data-testid="job-partial">
      <p className="flex items-start gap-2 font-semibold text-red-900 dark:text-red-200">
        <IconWarn className="mt-0.5 h-5 w-5 shrink-0" />
        <span className="break-words">
          {kindLabel} partly failed: {failed.length ? `not done on ${failed.map((f) => f.target).join(', ')}` : 'not done everywhere'}
        </span>
      </p>
      <ul className="mt-1 space-y-0.5 pl-7 text-sm text-slate-700 dark:text-slate-300">
        {failed.map((f) => (
          <li key={f.target} className="break-words" data-testid="failed-target" data-target={f.target}>
            <span className="font-medium">{f.target}</span>
            {f.code ? <span className="ml-1 font-mono text-xs">({f.code})</span> : null}: {f.message}
          </li>
        ))}
      </ul>
      {summary && (
        <div className="mt-3">
          <SummaryDetails job={job} summary={summary} />
        </div>
      )}
    </div>
  );
}

/** What a restore applied (volumes, files, config, databases); its problems and warnings are
 *  the FindingsPanel's (summary.problems, summary.warnings). */
function RestoreResult({ summary }: { summary: Record<string, unknown> }) {
  const arr = (k: string): Record<string, unknown>[] => (Array.isArray(summary[k]) ? (summary[k] as Record<string, unknown>[]).filter((x) => x && typeof x === 'object') : []);
  const count = (k: string): number | null => (Array.isArray(summary[k]) ? (summary[k] as unknown[]).length : typeof summary[k] === 'number' ? (summary[k] as number) : null);
  const volumes = arr('volumes');
  const dbs = arr('databases');
  const applied = Array.isArray(summary.applied) ? (summary.applied as unknown[]).filter((x): x is string => typeof x === 'string') : [];
  const binds = count('binds');
  const configs = count('config_files');
  return (
    <Card title="What the restore applied">
      <div className="space-y-3 text-sm" data-testid="restore-applied">
        <ul className="space-y-1">
          {typeof summary.project === 'string' && (
            <li>
              Project <span className="font-medium">{summary.project as string}</span>
              {typeof summary.mode === 'string' ? ` (${summary.mode as string})` : ''}
              {typeof summary.working_dir === 'string' ? <span className="ml-1 break-all font-mono text-xs">{summary.working_dir as string}</span> : null}
            </li>
          )}
          {volumes.map((v) => (
            <li key={String(v.name)}>
              Volume <span className="font-mono text-xs">{String(v.name)}</span>: {typeof v.files === 'number' ? `${v.files} files` : ''}
              {typeof v.bytes === 'number' ? `, ${formatBytes(v.bytes)}` : ''}
            </li>
          ))}
          {binds ? <li>{binds} bind mount(s) restored</li> : null}
          {configs ? <li>{configs} config file(s) written</li> : null}
          {dbs.map((d) => (
            <li key={`${String(d.service)}`}>
              Database {String(d.service)} ({String(d.engine)}): dump replayed,{' '}
              {d.rows_match === false ? <span className="text-red-700 dark:text-red-400">row counts differ</span> : 'row counts match'}
            </li>
          ))}
          {typeof summary.safety_backup_id === 'string' && summary.safety_backup_id && (
            <li>
              Safety backup taken first: <span className="font-mono text-xs">{summary.safety_backup_id as string}</span>
            </li>
          )}
        </ul>
        {applied.length > 0 && (
          <details>
            <summary className="cursor-pointer text-xs font-medium text-slate-600 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 dark:text-slate-400">Every change, in order ({applied.length})</summary>
            <ul className="mt-1 list-disc pl-5 text-xs">
              {applied.map((a, i) => (
                <li key={i}>{a}</li>
              ))}
            </ul>
          </details>
        )}
      </div>
    </Card>
  );
}

export function JobPage() {
  const { id = '' } = useParams();
  const jobId = /^\d+$/.test(id) ? Number(id) : null;
  const toast = useToast();
  const job = useApi<Job>(jobId !== null ? `/api/jobs/${jobId}` : null);
  const { view, status, reconnects } = useJobStream(jobId, job.reload);
  const [cancelling, setCancelling] = useState(false);

  const { reload } = job;
  useEffect(() => {
    if (view.result !== 'running') reload();
  }, [view.result, reload]);

  if (jobId === null || job.error?.status === 404) {
    return <EmptyState title="No such job" action={<Link to="/jobs" className="text-sm text-indigo-600 hover:underline dark:text-indigo-400">All jobs</Link>}>This job does not exist (any more).</EmptyState>;
  }
  const j = job.data;
  const finished = view.result !== 'running' || (j && !['queued', 'running'].includes(j.state));
  const result = view.result !== 'running' ? view.result : j && !['queued', 'running'].includes(j.state) ? j.state : 'running';
  const reason = failureReason(view) ?? (j?.error || null);
  const p = view.progress;
  const pct = p ? percent(p.bytesDone, p.bytesTotal) : null;
  const eta = p ? computeEta(p.bytesDone, p.bytesTotal, p.rateBps, p.etaS) : null;
  const currentStep = [...view.steps].reverse().find((s) => s.state === 'running');
  const kindLabel = j ? JOB_KIND_LABEL[j.kind] ?? j.kind : 'Job';
  const summary = view.summary ?? j?.summary ?? null;

  async function cancel() {
    setCancelling(true);
    try {
      await api.post(`/api/jobs/${jobId}/cancel`);
      toast('info', 'Cancelling… the job stops at its next check.');
      reload();
    } catch (e) {
      toast('error', errorMessage(e));
    } finally {
      setCancelling(false);
    }
  }

  return (
    <div data-testid="job-page" data-result={result}>
      <PageHeader
        back={
          j?.project ? (
            <Link to={`/projects/${enc(j.project)}`} className="text-indigo-600 hover:underline dark:text-indigo-400">← {j.project}</Link>
          ) : (
            <Link to="/jobs" className="text-indigo-600 hover:underline dark:text-indigo-400">← Jobs</Link>
          )
        }
        title={
          <span className="flex items-center gap-3">
            {kindLabel}
            {j?.project ? ` of ${j.project}` : ''} <span className="text-base font-normal text-slate-500">#{jobId}</span>
          </span>
        }
        subtitle={
          <span className="flex flex-wrap items-center gap-3">
            {j && <JobStateBadge state={finished && result !== 'running' ? (result as Job['state']) : j.state} />}
            <StreamIndicator status={status} reconnects={reconnects} />
            {j?.created_at ? <span>started {formatDateTime(j.started_at || j.created_at)}</span> : null}
            {j?.params && j.params.safe_mode === true && <span>Safe Mode</span>}
          </span>
        }
        actions={
          !finished && (
            <Button variant="danger" onClick={() => void cancel()} busy={cancelling} data-testid="job-cancel">
              Cancel
            </Button>
          )
        }
      />

      {!j && job.loading && <LoadingBlock />}
      {job.error && job.error.status !== 404 && <Alert title="Could not load the job">{job.error.message}</Alert>}

      <div className="space-y-6">
        {finished && result === 'succeeded' && (
          <div role="status" className="rounded-xl border border-emerald-300 bg-emerald-50 p-4 dark:border-emerald-500/40 dark:bg-emerald-500/10" data-testid="job-success">
            <p className="flex items-center gap-2 font-semibold text-emerald-900 dark:text-emerald-200">
              <IconCheck className="h-5 w-5" /> {kindLabel} succeeded
            </p>
            {summary && (
              <div className="mt-3">
                <SummaryDetails job={j} summary={summary} />
              </div>
            )}
          </div>
        )}
        {finished && result === 'partial' && <PartialBanner job={j} kindLabel={kindLabel} summary={summary} />}
        {finished && result !== 'succeeded' && result !== 'partial' && result !== 'running' && (
          <div role="alert" className={cx('rounded-xl border p-4', result === 'cancelled' ? 'border-amber-300 bg-amber-50 dark:border-amber-500/40 dark:bg-amber-500/10' : 'border-red-300 bg-red-50 dark:border-red-500/40 dark:bg-red-500/10')} data-testid="job-failure">
            <p className={cx('flex items-start gap-2 font-semibold', result === 'cancelled' ? 'text-amber-900 dark:text-amber-200' : 'text-red-900 dark:text-red-200')}>
              <IconWarn className="mt-0.5 h-5 w-5 shrink-0" />
              <span className="break-words">{reason ?? (result === 'cancelled' ? 'The job was cancelled.' : `${kindLabel} ${result}`)}</span>
            </p>
            <p className="mt-1 pl-7 text-sm text-slate-700 dark:text-slate-300">
              {kindLabel} {result}
              {view.error?.code || j?.error_code ? <span className="ml-1 font-mono text-xs">({view.error?.code || j?.error_code})</span> : null}.{' '}
              {reason && reason.includes('applied before the failure')
                ? 'Some changes were applied before the failure: they are named above, with the way back when a safety backup was taken.'
                : j?.kind === 'restore'
                  ? 'Nothing was changed on this host.'
                  : 'Nothing was left half-done: paused containers were resumed and partial uploads removed.'}
            </p>
          </div>
        )}

        {finished && <FindingsPanel findings={findingsOf(summary)} />}
        {finished && j?.kind === 'restore' && (result === 'succeeded' || result === 'partial') && summary && <RestoreResult summary={summary} />}

        {!finished && (
          <Card>
            <div className="space-y-2" data-testid="job-progress">
              <div className="flex flex-wrap items-baseline justify-between gap-2 text-sm">
                <span className="font-medium">{currentStep?.title ?? (j?.state === 'queued' ? 'Waiting for a free slot…' : 'Starting…')}</span>
                {p && (
                  <span className="tabular-nums text-slate-600 dark:text-slate-400">
                    {formatBytes(p.bytesDone)}
                    {p.bytesTotal ? ` of ${formatBytes(p.bytesTotal)}` : ''}
                    {p.rateBps ? ` · ${formatRate(p.rateBps)}` : ''}
                    {p.bytesTotal ? ` · ${formatEta(eta)}` : ''}
                  </span>
                )}
              </div>
              <ProgressBar value={p ? pct : null} label="Progress of the current step" />
              {pct !== null && <p className="text-right text-xs tabular-nums text-slate-500">{pct}%</p>}
            </div>
          </Card>
        )}

        <div className="grid gap-6 lg:grid-cols-3">
          <Card title="Steps" className="lg:col-span-1">
            {view.steps.length === 0 ? (
              <p className="text-sm text-slate-500">{finished ? 'No steps were recorded.' : 'Waiting for the first step…'}</p>
            ) : (
              <ol className="space-y-3" data-testid="job-steps">
                {view.steps.map((s) => (
                  <li key={s.step} className="flex items-start gap-3 text-sm" data-step={s.step} data-state={s.state}>
                    <StepIcon state={s.state} />
                    <div className="min-w-0">
                      <p className={cx('font-medium', s.state === 'failed' && 'text-red-700 dark:text-red-400')}>{s.title}</p>
                      {(s.durationMs !== undefined || s.detail) && (
                        <p className="break-words text-xs text-slate-500">
                          {s.durationMs !== undefined ? formatDurationMs(s.durationMs) : ''}
                          {s.detail ? `${s.durationMs !== undefined ? ' · ' : ''}${s.detail}` : ''}
                        </p>
                      )}
                    </div>
                  </li>
                ))}
              </ol>
            )}
          </Card>
          <Card title="Log" className="lg:col-span-2" actions={<span className="text-xs text-slate-500">{view.log.length} lines</span>}>
            <LogPanel view={view} />
          </Card>
        </div>
      </div>
    </div>
  );
}
