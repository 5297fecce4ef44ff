import { useEffect, useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router-dom';
import { api, ApiError, enc, errorMessage } from '../api/client';
import type { Backup, Job, JobStarted, ProjectDetail } from '../api/types';
import { useLiveVersion } from '../auth';
import { IconDb, IconDownload, IconFlask, IconHook, IconPlay, IconRestore, IconShield, IconTrash } from '../components/icons';
import { ScheduleEditor, RetentionEditor } from '../components/ScheduleEditor';
import { CopyBadge, DrillBadge, JOB_KIND_LABEL, JobStateBadge, ProjectStateBadge, VerifyBadge } from '../components/status';
import { useToast } from '../components/toast';
import { Alert, Badge, Button, Card, EmptyState, Field, Input, LoadingBlock, Modal, PageHeader, Toggle, cx } from '../components/ui';
import { useApi } from '../hooks/useApi';
import { formatAgo, formatBytes, formatDateTime, formatDurationMs, plural } from '../lib/format';
import { describeFailingTarget, failingTargets } from '../lib/protection';

function jobIdOf(r: JobStarted | Job): number {
  return 'job_id' in r ? r.job_id : (r as Job).id;
}

export function ProjectPage() {
  const { name = '' } = useParams();
  const navigate = useNavigate();
  const toast = useToast();
  const version = useLiveVersion();
  const detail = useApi<ProjectDetail>(`/api/projects/${enc(name)}`);
  const backups = useApi<{ backups: Backup[] }>(`/api/backups?project=${enc(name)}&limit=100`);
  const jobs = useApi<{ jobs: Job[] }>(`/api/jobs?project=${enc(name)}&limit=5`);
  const [safeMode, setSafeMode] = useState(false);
  const [starting, setStarting] = useState(false);
  const [restoreOf, setRestoreOf] = useState<Backup | null>(null);
  const [deleteOf, setDeleteOf] = useState<Backup | null>(null);
  const [rowBusy, setRowBusy] = useState<string | null>(null);

  const reloadAll = () => {
    detail.reload();
    backups.reload();
    jobs.reload();
  };
  useEffect(() => {
    if (version > 0) reloadAll();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [version]);

  async function startJob(label: string, path: string, body: unknown = {}) {
    try {
      const r = await api.post<JobStarted>(path, body);
      navigate(`/jobs/${jobIdOf(r)}`);
    } catch (e) {
      const running = detail.data?.running_job;
      toast('error', `${label}: ${errorMessage(e)}`);
      if (e instanceof ApiError && e.code === 'FailedPrecondition' && running) detail.reload();
    }
  }

  async function backUpNow() {
    setStarting(true);
    await startJob('Backup', '/api/backups', { project: name, safe_mode: safeMode });
    setStarting(false);
  }

  if (detail.error?.status === 404) {
    return (
      <EmptyState title={`No project “${name}”`} action={<Link to="/" className="text-sm font-medium text-indigo-600 hover:underline dark:text-indigo-400">Back to projects</Link>}>
        It is neither running on this Docker host nor in the backup catalog.
      </EmptyState>
    );
  }
  const d = detail.data;
  const model = d?.project ?? null;
  const running = d?.running_job && (d.running_job.state === 'running' || d.running_job.state === 'queued') ? d.running_job : null;
  const hooks = (model?.services ?? []).flatMap((s) => Object.entries(s.hooks ?? {}).map(([k, v]) => ({ service: s.name, when: k, cmd: v })));

  return (
    <div>
      <PageHeader
        back={<Link to="/" className="text-indigo-600 hover:underline dark:text-indigo-400">← Projects</Link>}
        title={name}
        subtitle={
          d ? (
            <span className="flex flex-wrap items-center gap-x-3 gap-y-1">
              <ProjectStateBadge state={d.state} />
              {model?.working_dir && <span className="truncate font-mono text-xs">{model.working_dir}</span>}
              <span>{plural(d.backups, 'backup')}</span>
            </span>
          ) : null
        }
      />
      {detail.error && detail.error.status !== 404 && (
        <div className="mb-4">
          <Alert title={detail.error.code === 'Unavailable' ? 'Docker is not reachable' : 'Could not load the project'} action={<Button size="sm" onClick={detail.reload}>Retry</Button>}>
            {detail.error.message}
          </Alert>
        </div>
      )}
      {!d && detail.loading && <LoadingBlock />}

      {d && (
        <div className="grid gap-6 lg:grid-cols-3">
          <div className="space-y-6 lg:col-span-2">
            {failingTargets(d).length > 0 && (
              <div data-testid="failing-targets">
                <Alert title={failingTargets(d).length === 1 ? `Storing on ${failingTargets(d)[0].target} is failing` : 'Storing on some targets is failing'} action={<Link className="font-medium underline" to="/settings#targets">Check targets</Link>}>
                  <ul className="space-y-0.5">
                    {failingTargets(d).map((t) => (
                      <li key={t.target} data-target={t.target}>
                        {describeFailingTarget(t)}
                      </li>
                    ))}
                  </ul>
                </Alert>
              </div>
            )}
            <Card title="Back up now">
              <div className="space-y-4">
                {running && (
                  <Alert tone="indigo" title={`${JOB_KIND_LABEL[running.kind] ?? running.kind} in progress`} action={<Link className="font-medium underline" to={`/jobs/${running.id}`}>Watch</Link>}>
                    One job per project runs at a time.
                  </Alert>
                )}
                <Toggle
                  checked={safeMode}
                  onChange={setSafeMode}
                  label="Safe Mode"
                  description="Briefly pauses the app containers while volumes are copied, so files are consistent; databases are dumped live either way."
                />
                <div className="flex flex-wrap items-center gap-3">
                  <Button variant="primary" onClick={() => void backUpNow()} busy={starting} disabled={!!running || d.state === 'absent'} data-testid="backup-now">
                    <IconPlay className="h-4 w-4" /> Back up now
                  </Button>
                  {d.state === 'absent' && <span className="text-sm text-slate-500">The project is not on this host; restore a backup to bring it back.</span>}
                  {d.last_backup && <span className="text-sm text-slate-500">Last backup {formatAgo(d.last_backup.created_at)}</span>}
                </div>
              </div>
            </Card>

            <Card title="Backups" actions={<Button size="sm" variant="ghost" onClick={backups.reload}>Refresh</Button>}>
              {backups.error && <Alert>{backups.error.message}</Alert>}
              {!backups.data && backups.loading && <LoadingBlock />}
              {backups.data && backups.data.backups.length === 0 && (
                <EmptyState icon={<IconShield className="h-8 w-8" />} title="No backups yet">
                  This project is not protected. Press “Back up now” or set a schedule.
                </EmptyState>
              )}
              {backups.data && backups.data.backups.length > 0 && (
                <ul className="-my-2 divide-y divide-slate-200 dark:divide-slate-800" aria-label="Backups">
                  {backups.data.backups.map((b) => (
                    <li key={b.id} className="flex flex-col gap-3 py-3 md:flex-row md:items-center md:justify-between" data-testid="backup-row" data-backup-id={b.id}>
                      <div className="min-w-0">
                        <p className="font-medium">
                          {formatDateTime(b.created_at)} <span className="text-sm font-normal text-slate-500">({formatAgo(b.created_at)})</span>
                        </p>
                        <p className="mt-0.5 text-xs text-slate-600 dark:text-slate-400">
                          {formatBytes(b.stored_bytes)} stored · {formatBytes(b.plaintext_bytes)} data · took {formatDurationMs(b.duration_ms)}
                          {b.copies.length === 0 ? ' · no copies' : ''}
                        </p>
                        <div className="mt-1.5 flex flex-wrap gap-1.5">
                          <VerifyBadge result={b.verify_result} />
                          <DrillBadge result={b.drill_result} />
                          {b.copies.map((c) => (
                            <CopyBadge key={c.target} copy={c} />
                          ))}
                          <span className="font-mono text-[11px] text-slate-400">{b.id}</span>
                        </div>
                      </div>
                      <div className="flex flex-wrap gap-1.5">
                        <Button size="sm" disabled={!!running || rowBusy !== null} onClick={async () => { setRowBusy(b.id); await startJob('Verify', `/api/backups/${enc(b.id)}/verify`); setRowBusy(null); }}>
                          <IconShield className="h-3.5 w-3.5" /> Verify
                        </Button>
                        <Button size="sm" disabled={!!running} onClick={() => setRestoreOf(b)}>
                          <IconRestore className="h-3.5 w-3.5" /> Restore
                        </Button>
                        <Button size="sm" disabled={!!running || rowBusy !== null} onClick={async () => { setRowBusy(b.id); await startJob('Drill', `/api/backups/${enc(b.id)}/drill`); setRowBusy(null); }}>
                          <IconFlask className="h-3.5 w-3.5" /> Drill
                        </Button>
                        <a
                          href={`/api/backups/${enc(b.id)}/download`}
                          download
                          className="inline-flex items-center gap-2 rounded-md bg-white px-2.5 py-1.5 text-xs font-medium text-slate-800 shadow-sm ring-1 ring-inset ring-slate-300 hover:bg-slate-50 focus-visible:outline focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-500 dark:bg-slate-800 dark:text-slate-100 dark:ring-slate-600 dark:hover:bg-slate-700"
                        >
                          <IconDownload className="h-3.5 w-3.5" /> Download
                        </a>
                        <Button size="sm" variant="ghost" aria-label={`Delete backup ${b.id}`} disabled={!!running} onClick={() => setDeleteOf(b)} className="text-red-600 dark:text-red-400">
                          <IconTrash className="h-3.5 w-3.5" /> Delete
                        </Button>
                      </div>
                    </li>
                  ))}
                </ul>
              )}
            </Card>

            <Card title="What gets backed up">
              {!model ? (
                <p className="text-sm text-slate-600 dark:text-slate-400">The project has no containers on this host. Its backups can still be restored.</p>
              ) : (
                <div className="space-y-5 text-sm">
                  {model.warnings.length > 0 && (
                    <Alert tone="amber" title="Warnings">
                      <ul className="list-disc pl-4">{model.warnings.map((w) => <li key={w}>{w}</li>)}</ul>
                    </Alert>
                  )}
                  <div>
                    <h3 className="mb-2 font-semibold">Services</h3>
                    <div className="overflow-x-auto">
                      <table className="w-full min-w-[28rem] text-left">
                        <thead className="text-xs text-slate-500">
                          <tr><th className="py-1 pr-3 font-medium">Service</th><th className="py-1 pr-3 font-medium">Image</th><th className="py-1 pr-3 font-medium">State</th><th className="py-1 font-medium">Database</th></tr>
                        </thead>
                        <tbody className="divide-y divide-slate-100 dark:divide-slate-800">
                          {model.services.map((s) => (
                            <tr key={s.name}>
                              <td className="py-2 pr-3 font-medium">{s.name}{s.excluded && <Badge tone="slate">excluded</Badge>}</td>
                              <td className="max-w-[14rem] truncate py-2 pr-3 font-mono text-xs" title={s.image}>{s.image}</td>
                              <td className="py-2 pr-3"><span className={cx('text-xs', s.state === 'running' ? 'text-emerald-700 dark:text-emerald-400' : 'text-slate-500')}>{s.state}</span></td>
                              <td className="py-2">
                                {s.engine && s.engine !== 'none' ? (
                                  <Badge tone="blue" title={s.engine_evidence}><IconDb className="h-3 w-3" />{s.engine}</Badge>
                                ) : (
                                  <span className="text-xs text-slate-400">—</span>
                                )}
                              </td>
                            </tr>
                          ))}
                        </tbody>
                      </table>
                    </div>
                  </div>
                  <div className="grid gap-5 md:grid-cols-2">
                    <div>
                      <h3 className="mb-2 font-semibold">Volumes</h3>
                      {model.volumes.length === 0 ? <p className="text-slate-500">None</p> : (
                        <ul className="space-y-1.5">
                          {model.volumes.map((v) => (
                            <li key={v.name}>
                              <span className="font-mono text-xs">{v.name}</span>
                              {v.excluded && <Badge tone="slate">excluded</Badge>}
                              {v.external && <Badge tone="slate">external</Badge>}
                              <span className="block text-xs text-slate-500">{v.used_by.map((u) => `${u.service}:${u.destination}`).join(', ')}</span>
                            </li>
                          ))}
                        </ul>
                      )}
                    </div>
                    <div>
                      <h3 className="mb-2 font-semibold">Bind mounts</h3>
                      {model.binds.length === 0 ? <p className="text-slate-500">None</p> : (
                        <ul className="space-y-1.5">
                          {model.binds.map((b) => (
                            <li key={b.host_path + b.container_path}>
                              <span className="break-all font-mono text-xs">{b.host_path}</span>
                              <span className="block text-xs text-slate-500">→ {b.container_path} ({b.read_only ? 'ro' : 'rw'}) · {b.services.join(', ')}</span>
                            </li>
                          ))}
                        </ul>
                      )}
                    </div>
                  </div>
                  <div>
                    <h3 className="mb-2 flex items-center gap-1.5 font-semibold"><IconHook className="h-4 w-4" /> Hooks</h3>
                    {hooks.length === 0 ? (
                      <p className="text-slate-500">No hooks. Add labels like <code className="font-mono text-xs">stacksnap.hook.pre-backup</code> to a service.</p>
                    ) : (
                      <ul className="space-y-1.5">
                        {hooks.map((h) => (
                          <li key={h.service + h.when}>
                            <Badge tone="indigo">{h.when}</Badge> <span className="text-xs text-slate-500">in {h.service}</span>
                            <code className="mt-0.5 block break-all rounded bg-slate-100 px-2 py-1 font-mono text-xs dark:bg-slate-800">{h.cmd}</code>
                          </li>
                        ))}
                      </ul>
                    )}
                  </div>
                </div>
              )}
            </Card>
          </div>

          <div className="space-y-6">
            <Card title="Schedule">
              <ScheduleEditor project={name} schedule={d.schedule} onSaved={detail.reload} />
            </Card>
            <Card title="Retention">
              <RetentionEditor project={name} policies={d.retention ?? []} onSaved={detail.reload} />
            </Card>
            <Card title="Recent jobs" actions={<Link to={`/jobs?project=${enc(name)}`} className="text-sm text-indigo-600 hover:underline dark:text-indigo-400">All</Link>}>
              {(jobs.data?.jobs ?? []).length === 0 ? (
                <p className="text-sm text-slate-500">No jobs yet.</p>
              ) : (
                <ul className="space-y-2 text-sm">
                  {jobs.data!.jobs.map((j) => (
                    <li key={j.id} className="flex items-center justify-between gap-2">
                      <Link to={`/jobs/${j.id}`} className="truncate hover:underline">
                        {JOB_KIND_LABEL[j.kind] ?? j.kind} <span className="text-slate-500">#{j.id} · {formatAgo(j.created_at)}</span>
                      </Link>
                      <JobStateBadge state={j.state} />
                    </li>
                  ))}
                </ul>
              )}
            </Card>
          </div>
        </div>
      )}

      {restoreOf && (
        <RestoreDialog
          project={name}
          backup={restoreOf}
          onClose={() => setRestoreOf(null)}
          onStart={async (body) => {
            const r = await api.post<JobStarted>(`/api/backups/${enc(restoreOf.id)}/restore`, body);
            navigate(`/jobs/${jobIdOf(r)}`);
          }}
        />
      )}
      {deleteOf && (
        <DeleteDialog
          backup={deleteOf}
          onClose={() => setDeleteOf(null)}
          onDeleted={() => {
            setDeleteOf(null);
            toast('success', 'Backup deleted');
            reloadAll();
          }}
        />
      )}
    </div>
  );
}

function RestoreDialog({ project, backup, onClose, onStart }: { project: string; backup: Backup; onClose: () => void; onStart: (body: { as?: string; force?: boolean }) => Promise<void> }) {
  const [mode, setMode] = useState<'new' | 'same'>('new');
  const [newName, setNewName] = useState(`${project}-restored`);
  const [typed, setTyped] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const nameOk = /^[a-z0-9][a-z0-9_-]*$/.test(newName) && newName !== project;
  const canStart = mode === 'new' ? nameOk : typed === project;

  async function go() {
    setBusy(true);
    setError(null);
    try {
      await onStart(mode === 'new' ? { as: newName } : { force: true });
    } catch (e) {
      setError(errorMessage(e));
      setBusy(false);
    }
  }

  return (
    <Modal
      open
      onClose={onClose}
      title="Restore backup"
      footer={
        <>
          <Button variant="ghost" onClick={onClose}>Cancel</Button>
          <Button variant={mode === 'same' ? 'danger' : 'primary'} disabled={!canStart} busy={busy} onClick={() => void go()} data-testid="restore-start">
            {mode === 'same' ? `Replace ${project}` : 'Restore as new project'}
          </Button>
        </>
      }
    >
      <p>
        Backup from <strong>{formatDateTime(backup.created_at)}</strong> ({formatBytes(backup.stored_bytes)}). The whole archive is authenticated before anything is changed.
      </p>
      <fieldset className="space-y-2">
        <legend className="sr-only">Restore target</legend>
        <label className={cx('flex cursor-pointer items-start gap-3 rounded-lg border p-3', mode === 'new' ? 'border-indigo-500 bg-indigo-50/60 dark:bg-indigo-500/10' : 'border-slate-300 dark:border-slate-700')}>
          <input type="radio" name="restore-mode" className="mt-1" checked={mode === 'new'} onChange={() => setMode('new')} />
          <span>
            <span className="block font-medium">As a new project</span>
            <span className="text-xs text-slate-600 dark:text-slate-400">Runs side by side with {project}; nothing existing is touched.</span>
          </span>
        </label>
        <label className={cx('flex cursor-pointer items-start gap-3 rounded-lg border p-3', mode === 'same' ? 'border-red-500 bg-red-50/60 dark:bg-red-500/10' : 'border-slate-300 dark:border-slate-700')}>
          <input type="radio" name="restore-mode" className="mt-1" checked={mode === 'same'} onChange={() => setMode('same')} />
          <span>
            <span className="block font-medium">Replace {project}</span>
            <span className="text-xs text-slate-600 dark:text-slate-400">Stops the project and overwrites its volumes and bind mounts with this backup.</span>
          </span>
        </label>
      </fieldset>
      {mode === 'new' ? (
        <Field label="New project name" htmlFor="restore-name" error={newName && !nameOk ? 'Lowercase letters, digits, “-” and “_”; not the current name.' : null}>
          <Input id="restore-name" value={newName} onChange={(e) => setNewName(e.target.value.trim())} className="font-mono" autoFocus />
        </Field>
      ) : (
        <Field label={`Type “${project}” to confirm`} htmlFor="restore-confirm">
          <Input id="restore-confirm" value={typed} onChange={(e) => setTyped(e.target.value)} autoComplete="off" className="font-mono" autoFocus />
        </Field>
      )}
      {error && <Alert>{error}</Alert>}
    </Modal>
  );
}

function DeleteDialog({ backup, onClose, onDeleted }: { backup: Backup; onClose: () => void; onDeleted: () => void }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  return (
    <Modal
      open
      onClose={onClose}
      title="Delete backup?"
      footer={
        <>
          <Button variant="ghost" onClick={onClose}>Keep it</Button>
          <Button
            variant="danger"
            busy={busy}
            onClick={async () => {
              setBusy(true);
              setError(null);
              try {
                await api.del(`/api/backups/${enc(backup.id)}`);
                onDeleted();
              } catch (e) {
                setError(errorMessage(e));
                setBusy(false);
              }
            }}
          >
            Delete from {plural(backup.copies.length, 'target')}
          </Button>
        </>
      }
    >
      <p>
        The backup from <strong>{formatDateTime(backup.created_at)}</strong> is removed from {backup.copies.map((c) => c.target).join(', ') || 'the catalog'}. This cannot be undone.
      </p>
      <p className="font-mono text-xs text-slate-500">{backup.id}</p>
      {error && <Alert>{error}</Alert>}
    </Modal>
  );
}
