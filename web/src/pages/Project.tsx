import { useEffect, useState } from 'react';
import { Link, useNavigate, useParams, useSearchParams } from 'react-router-dom';
import { api, ApiError, enc, errorMessage } from '../api/client';
import type { Backup, Job, JobStarted, ProjectDetail, Target } from '../api/types';
import { useLiveVersion } from '../auth';
import { IconDb, IconDownload, IconFlask, IconHook, IconPlay, IconRestore, IconShield, IconTrash } from '../components/icons';
import { ScheduleEditor, RetentionEditor } from '../components/ScheduleEditor';
import { CopyBadge, DrillBadge, JOB_KIND_LABEL, JobStateBadge, ProjectStateBadge, VerifyBadge } from '../components/status';
import { useToast } from '../components/toast';
import { Alert, Badge, Button, Card, EmptyState, Field, Input, LoadingBlock, Modal, PageHeader, Select, Toggle, cx } from '../components/ui';
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
  const [includeDbVolumes, setIncludeDbVolumes] = useState(false);
  const [hookTimeout, setHookTimeout] = useState('60');
  const [chosenTargets, setChosenTargets] = useState<string[] | null>(null); // null: every target
  const allTargets = useApi<{ targets: Target[] }>('/api/targets');
  const [showOptions, setShowOptions] = useState(false);
  const [pruneOpen, setPruneOpen] = useState(false);
  const [searchParams, setSearchParams] = useSearchParams();
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
    const body: Record<string, unknown> = { project: name, safe_mode: safeMode, include_db_volumes: includeDbVolumes };
    const t = Number(hookTimeout);
    if (Number.isInteger(t) && t >= 1 && t <= 86400) body.hook_timeout_s = t;
    if (chosenTargets !== null) body.targets = chosenTargets;
    await startJob('Backup', '/api/backups', body);
    setStarting(false);
  }

  // ?restore=1 (from "Not on this host — Restore"): the dialog for the newest backup.
  useEffect(() => {
    // After the project's detail: the dialog's defaults depend on whether it runs here.
    if (searchParams.get('restore') && detail.data && backups.data && backups.data.backups.length > 0 && !restoreOf) {
      setRestoreOf(backups.data.backups[0]);
      searchParams.delete('restore');
      setSearchParams(searchParams, { replace: true });
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [backups.data, detail.data, searchParams]);

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
          <div className="min-w-0 space-y-6 lg:col-span-2">
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
                <button type="button" className="text-sm font-medium text-indigo-700 underline focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 dark:text-indigo-300" aria-expanded={showOptions} aria-controls="backup-options" onClick={() => setShowOptions((v) => !v)}>
                  {showOptions ? 'Fewer options' : 'More options'}
                </button>
                {showOptions && (
                  <div id="backup-options" className="space-y-4 rounded-lg border border-slate-200 p-3 dark:border-slate-800" data-testid="backup-options">
                    <Toggle
                      checked={includeDbVolumes}
                      onChange={setIncludeDbVolumes}
                      label="Include database volumes"
                      description="Also copy the raw files of database volumes (normally the dump is enough and the volume is skipped)."
                    />
                    <Field label="Hook timeout (seconds)" htmlFor="hook-timeout" hint="How long each pre/post hook may run (1–86400). A service's stacksnap.hook.timeout label overrides it.">
                      <Input id="hook-timeout" type="number" min={1} max={86400} inputMode="numeric" value={hookTimeout} onChange={(e) => setHookTimeout(e.target.value)} className="w-32" />
                    </Field>
                    <fieldset>
                      <legend className="mb-1 text-sm font-medium">Store on</legend>
                      <div className="flex flex-wrap gap-3">
                        {(allTargets.data?.targets ?? []).map((t) => {
                          const on = chosenTargets === null || chosenTargets.includes(t.name);
                          return (
                            <label key={t.name} className="flex items-center gap-2 text-sm">
                              <input
                                type="checkbox"
                                className="h-4 w-4 rounded border-slate-300 text-indigo-600 focus:ring-indigo-500"
                                checked={on}
                                onChange={(e) => {
                                  const all = (allTargets.data?.targets ?? []).map((x) => x.name);
                                  const cur = chosenTargets ?? all;
                                  const next = e.target.checked ? [...cur, t.name] : cur.filter((n) => n !== t.name);
                                  setChosenTargets(next.length === all.length ? null : next);
                                }}
                              />
                              {t.name}
                            </label>
                          );
                        })}
                      </div>
                      {chosenTargets !== null && chosenTargets.length === 0 && <p className="mt-1 text-xs text-red-700 dark:text-red-400">Choose at least one target.</p>}
                    </fieldset>
                  </div>
                )}
                <div className="flex flex-wrap items-center gap-3">
                  <Button variant="primary" onClick={() => void backUpNow()} busy={starting} disabled={!!running || d.state === 'absent' || (chosenTargets !== null && chosenTargets.length === 0)} data-testid="backup-now">
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

          <div className="min-w-0 space-y-6">
            <Card title="Schedule">
              <ScheduleEditor project={name} schedule={d.schedule} onSaved={detail.reload} />
            </Card>
            <Card title="Retention">
              <RetentionEditor project={name} policies={d.retention ?? []} onSaved={detail.reload} />
              {(d.retention ?? []).length > 0 && (
                <div className="mt-4 border-t border-slate-200 pt-4 dark:border-slate-800">
                  <Button size="sm" onClick={() => setPruneOpen(true)} disabled={!!running} data-testid="prune-now">
                    <IconTrash className="h-3.5 w-3.5" /> Prune now…
                  </Button>
                </div>
              )}
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

      {restoreOf && d && (
        <RestoreDialog
          project={name}
          backup={restoreOf}
          present={d?.state !== 'absent'}
          onClose={() => setRestoreOf(null)}
          onStart={async (body) => {
            const r = await api.post<JobStarted>(`/api/backups/${enc(restoreOf.id)}/restore`, body);
            navigate(`/jobs/${jobIdOf(r)}`);
          }}
        />
      )}
      {pruneOpen && (
        <PruneDialog
          project={name}
          onClose={() => setPruneOpen(false)}
          onStart={async () => {
            const r = await api.post<JobStarted>(`/api/projects/${enc(name)}/prune`, {});
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

export interface RestoreBody {
  as?: string;
  force?: boolean;
  no_ports?: boolean;
  no_safety_backup?: boolean;
  from?: string;
}

function copyStateLabel(c: Backup['copies'][number]): string {
  if (c.verify_state === 'damaged') return 'damaged';
  if (c.verify_state === 'unreachable') return 'unreachable';
  if (c.verify_state === 'verified') return `verified ${c.verified_at ? formatAgo(c.verified_at) : ''}`.trim();
  return 'not checked since stored';
}

function RestoreDialog({ project, backup, present, onClose, onStart }: { project: string; backup: Backup; present: boolean; onClose: () => void; onStart: (body: RestoreBody) => Promise<void> }) {
  // A project that is not on this host is brought back in place; one that runs here is
  // restored beside it by default.
  const [mode, setMode] = useState<'new' | 'same'>(present ? 'new' : 'same');
  const [newName, setNewName] = useState(`${project}-restored`);
  // The copy beside a running original: its published ports are taken, so none by default.
  const [noPorts, setNoPorts] = useState<boolean>(present);
  const [safety, setSafety] = useState(true);
  const usable = backup.copies.filter((c) => c.verify_state !== 'damaged');
  const [from, setFrom] = useState<string>('');
  const [typed, setTyped] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const nameOk = /^[a-z0-9][a-z0-9_-]*$/.test(newName) && newName !== project;
  const canStart = mode === 'new' ? nameOk : !present || typed === project;

  async function go() {
    setBusy(true);
    setError(null);
    const body: RestoreBody = mode === 'new' ? { as: newName, no_ports: noPorts } : present ? { force: true, no_safety_backup: !safety } : {};
    if (from) body.from = from;
    try {
      await onStart(body);
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
          <Button variant={mode === 'same' && present ? 'danger' : 'primary'} disabled={!canStart} busy={busy} onClick={() => void go()} data-testid="restore-start">
            {mode === 'same' ? (present ? `Replace ${project}` : `Restore ${project}`) : 'Restore as a copy'}
          </Button>
        </>
      }
    >
      <p>
        Backup from <strong>{formatDateTime(backup.created_at)}</strong> ({formatBytes(backup.stored_bytes)}). The whole archive is authenticated before anything is changed.
      </p>
      <fieldset className="space-y-2">
        <legend className="sr-only">Restore where</legend>
        <label className={cx('flex cursor-pointer items-start gap-3 rounded-lg border p-3 focus-within:ring-2 focus-within:ring-indigo-500', mode === 'same' ? (present ? 'border-red-500 bg-red-50/60 dark:bg-red-500/10' : 'border-indigo-500 bg-indigo-50/60 dark:bg-indigo-500/10') : 'border-slate-300 dark:border-slate-700')}>
          <input type="radio" name="restore-mode" className="mt-1" checked={mode === 'same'} onChange={() => setMode('same')} data-testid="restore-mode-same" />
          <span>
            <span className="block font-medium">{present ? `In place: replace ${project}` : `In place, as ${project}`}</span>
            <span className="text-xs text-slate-600 dark:text-slate-400">
              {present ? 'Stops the project and overwrites its volumes and bind mounts with this backup.' : 'The project is not on this host: it is created from the backup, with its volumes, files and databases, and started.'}
            </span>
          </span>
        </label>
        <label className={cx('flex cursor-pointer items-start gap-3 rounded-lg border p-3 focus-within:ring-2 focus-within:ring-indigo-500', mode === 'new' ? 'border-indigo-500 bg-indigo-50/60 dark:bg-indigo-500/10' : 'border-slate-300 dark:border-slate-700')}>
          <input type="radio" name="restore-mode" className="mt-1" checked={mode === 'new'} onChange={() => setMode('new')} data-testid="restore-mode-copy" />
          <span>
            <span className="block font-medium">As a copy under another name</span>
            <span className="text-xs text-slate-600 dark:text-slate-400">Runs side by side with {project}; nothing existing is touched.</span>
          </span>
        </label>
      </fieldset>
      {mode === 'new' ? (
        <>
          <Field label="Name of the copy" htmlFor="restore-name" error={newName && !nameOk ? 'Lowercase letters, digits, “-” and “_”; not the current name.' : null}>
            <Input id="restore-name" value={newName} onChange={(e) => setNewName(e.target.value.trim())} className="font-mono" autoFocus />
          </Field>
          <Toggle
            checked={noPorts}
            onChange={setNoPorts}
            label="Publish no host ports"
            description={present ? 'On: the original keeps its ports and the copy runs without any (reach it with docker exec or add ports later).' : 'On: the copy publishes no host ports.'}
          />
        </>
      ) : present ? (
        <>
          <Toggle checked={safety} onChange={setSafety} label="Safety backup first" description={`Backs up ${project} as it is now before replacing it, so the restore can be undone.`} />
          <Field label={`Type “${project}” to confirm`} htmlFor="restore-confirm">
            <Input id="restore-confirm" value={typed} onChange={(e) => setTyped(e.target.value)} autoComplete="off" className="font-mono" autoFocus />
          </Field>
        </>
      ) : null}
      {backup.copies.length > 1 && (
        <Field label="Restore from" htmlFor="restore-from" hint="Which stored copy to fetch. Automatic: the first copy that verifies.">
          <Select id="restore-from" value={from} onChange={(e) => setFrom(e.target.value)}>
            <option value="">Automatic</option>
            {backup.copies.map((c) => (
              <option key={c.target} value={c.target} disabled={c.verify_state === 'damaged'}>
                {c.target} — {copyStateLabel(c)}
              </option>
            ))}
          </Select>
        </Field>
      )}
      {usable.length === 0 && backup.copies.length > 0 && <Alert tone="amber">Every copy of this backup is known to be damaged; the restore will most likely fail.</Alert>}
      {error && <Alert>{error}</Alert>}
    </Modal>
  );
}

interface PrunePreview {
  groups: { project: string; target: string; description: string; decisions: { id: string; created: number; keep: boolean; reasons: string[] }[] }[];
}

function PruneDialog({ project, onClose, onStart }: { project: string; onClose: () => void; onStart: () => Promise<void> }) {
  const [preview, setPreview] = useState<PrunePreview | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    api.post<PrunePreview>(`/api/projects/${enc(project)}/prune`, { dry_run: true }).then(setPreview, (e) => setError(errorMessage(e)));
  }, [project]);
  const doomed = (preview?.groups ?? []).flatMap((g) => g.decisions.filter((d) => !d.keep).map((d) => ({ ...d, target: g.target })));
  return (
    <Modal
      open
      onClose={onClose}
      title={`Prune ${project} now`}
      footer={
        <>
          <Button variant="ghost" onClick={onClose}>Cancel</Button>
          <Button
            variant="danger"
            disabled={!preview || doomed.length === 0}
            busy={busy}
            data-testid="prune-apply"
            onClick={async () => {
              setBusy(true);
              try {
                await onStart();
              } catch (e) {
                setError(errorMessage(e));
                setBusy(false);
              }
            }}
          >
            Delete {plural(doomed.length, 'backup')}
          </Button>
        </>
      }
    >
      {!preview && !error && <LoadingBlock label="Working out what goes…" />}
      {error && <Alert>{error}</Alert>}
      {preview && (
        <div className="space-y-3" data-testid="prune-preview">
          {preview.groups.map((g) => (
            <div key={g.target}>
              <p className="text-sm font-medium">
                {g.target === '*' ? 'Every target' : `Target ${g.target}`} — {g.description}
              </p>
              <ul className="mt-1 space-y-0.5 text-xs">
                {g.decisions.map((dec) => (
                  <li key={dec.id} className="flex flex-wrap gap-2">
                    <Badge tone={dec.keep ? 'green' : 'red'}>{dec.keep ? 'keep' : 'delete'}</Badge>
                    <span>{formatDateTime(dec.created)}</span>
                    <span className="text-slate-500">{dec.reasons.join('; ')}</span>
                  </li>
                ))}
              </ul>
            </div>
          ))}
          {doomed.length === 0 && <p className="text-sm">Nothing to delete: every backup is kept by the policy.</p>}
        </div>
      )}
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
