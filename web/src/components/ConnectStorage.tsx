// "Connect existing storage": the catalog rebuilt from each target (POST
// /api/targets/{name}/rebuild, a job each; the same rules as `stacksnap backups --target`),
// then the projects found in storage that do not exist on this host, each with a way to
// restore it.
import { useCallback, useEffect, useState } from 'react';
import { Link } from 'react-router-dom';
import { api, enc, errorMessage } from '../api/client';
import type { Job, JobStarted, ProjectSummary, Target } from '../api/types';
import { plural } from '../lib/format';
import { Alert, Badge, Button, Spinner } from './ui';

export interface RebuildOutcome {
  target: string;
  state: 'running' | 'done' | 'failed';
  jobId?: number;
  found?: number;
  added?: number;
  skipped?: number;
  error?: string;
}

async function waitForJob(id: number): Promise<Job> {
  for (;;) {
    const j = await api.get<Job>(`/api/jobs/${id}`);
    if (j.state !== 'queued' && j.state !== 'running') return j;
    await new Promise((r) => window.setTimeout(r, 500));
  }
}

/** Starts a rebuild job on `target` and resolves with its outcome. */
export async function rebuildFrom(target: string): Promise<RebuildOutcome> {
  try {
    const started = await api.post<JobStarted>(`/api/targets/${enc(target)}/rebuild`);
    const j = await waitForJob(started.job_id);
    const s = (j.summary ?? {}) as { sidecars?: number; added_backups?: string[]; problems?: unknown[] };
    if (j.state === 'failed' || j.state === 'cancelled' || j.state === 'interrupted') {
      return { target, state: 'failed', jobId: j.id, error: j.error || j.state };
    }
    return { target, state: 'done', jobId: j.id, found: s.sidecars ?? 0, added: s.added_backups?.length ?? 0, skipped: s.problems?.length ?? 0 };
  } catch (e) {
    return { target, state: 'failed', error: errorMessage(e) };
  }
}

export function RebuildResults({ results }: { results: RebuildOutcome[] }) {
  return (
    <ul className="space-y-1 text-sm" data-testid="rebuild-results">
      {results.map((r) => (
        <li key={r.target} className="flex flex-wrap items-center gap-2">
          {r.state === 'running' && <Spinner className="h-4 w-4" label={`Reading ${r.target}`} />}
          <span className="font-medium">{r.target}</span>
          {r.state === 'done' && (
            <span className="text-slate-600 dark:text-slate-400">
              {plural(r.found ?? 0, 'backup')} found, {r.added} new{r.skipped ? `, ${r.skipped} skipped (see the job)` : ''}
            </span>
          )}
          {r.state === 'failed' && <span className="text-red-700 dark:text-red-400">could not be read: {r.error}</span>}
          {r.jobId != null && (
            <Link className="text-xs text-indigo-700 underline dark:text-indigo-300" to={`/jobs/${r.jobId}`}>
              job #{r.jobId}
            </Link>
          )}
        </li>
      ))}
    </ul>
  );
}

/** Projects known only from storage: "Not on this host — Restore". */
export function AbsentProjects({ projects, onNavigate }: { projects: ProjectSummary[]; onNavigate?: (project: string) => void }) {
  const absent = projects.filter((p) => p.state === 'absent');
  if (absent.length === 0) return null;
  return (
    <ul className="divide-y divide-slate-200 rounded-lg border border-amber-300 dark:divide-slate-800 dark:border-amber-500/40" data-testid="absent-projects">
      {absent.map((p) => (
        <li key={p.name} className="flex flex-wrap items-center justify-between gap-2 px-4 py-3">
          <span className="flex items-center gap-2 font-medium">
            {p.name} <Badge tone="amber">Not on this host</Badge>
          </span>
          <Link
            to={`/projects/${enc(p.name)}?restore=1`}
            onClick={(e) => {
              if (onNavigate) {
                e.preventDefault();
                onNavigate(p.name);
              }
            }}
            className="rounded-md bg-indigo-600 px-3 py-1.5 text-sm font-medium text-white hover:bg-indigo-500 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 focus-visible:ring-offset-2"
          >
            Restore {p.name}
          </Link>
        </li>
      ))}
    </ul>
  );
}

/** Reads every target (or the one named) and reports. `auto`: starts at once. */
export function ConnectStorage({ only, auto, onFinished }: { only?: string; auto?: boolean; onFinished?: () => void }) {
  const [results, setResults] = useState<RebuildOutcome[] | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const run = useCallback(async () => {
    setBusy(true);
    setError(null);
    try {
      const targets = only ? [only] : (await api.get<{ targets: Target[] }>('/api/targets')).targets.map((t) => t.name);
      const acc: RebuildOutcome[] = targets.map((t) => ({ target: t, state: 'running' }));
      setResults([...acc]);
      for (let i = 0; i < targets.length; i++) {
        acc[i] = await rebuildFrom(targets[i]);
        setResults([...acc]);
      }
      onFinished?.();
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  }, [only, onFinished]);

  useEffect(() => {
    if (auto) void run();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  return (
    <div className="space-y-3">
      {!auto && (
        <Button onClick={() => void run()} busy={busy}>
          Read backups from storage
        </Button>
      )}
      {error && <Alert>{error}</Alert>}
      {results && <RebuildResults results={results} />}
    </div>
  );
}
