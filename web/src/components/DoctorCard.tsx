// Settings → "System check": the server's `stacksnap doctor` (GET /api/doctor), run on
// demand (it reaches every target), each check with what to fix.
import { useState } from 'react';
import { api, errorMessage } from '../api/client';
import type { CheckState, DoctorReport } from '../api/types';
import { Alert, Badge, Button, Card } from './ui';

const TONE: Record<CheckState, 'green' | 'amber' | 'red'> = { ok: 'green', warn: 'amber', fail: 'red' };
const LABEL: Record<CheckState, string> = { ok: 'OK', warn: 'Warning', fail: 'Failed' };

export function DoctorCard() {
  const [report, setReport] = useState<DoctorReport | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function run() {
    setBusy(true);
    setError(null);
    try {
      setReport(await api.get<DoctorReport>('/api/doctor'));
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  }

  return (
    <Card
      id="doctor"
      title="System check"
      actions={
        <Button size="sm" onClick={run} busy={busy}>
          {busy ? 'Checking…' : report ? 'Check again' : 'Run checks'}
        </Button>
      }
    >
      {error && <Alert>{error}</Alert>}
      {!report && !error && (
        <p className="text-sm text-slate-500">
          Checks the Docker Engine, Compose, the data directory, the key, every target, the clock against S3 and the free
          space, and says what to fix. Also on the command line: <code>stacksnap doctor</code>.
        </p>
      )}
      {report && (
        <div className="space-y-3">
          <p className="text-sm text-slate-500">
            StackSnap {report.version} (commit {report.commit}, built {report.build_date}):{' '}
            {report.ok ? 'no problems' : `${report.failed} failed`}, {report.warnings} warning{report.warnings === 1 ? '' : 's'}.
          </p>
          <ul className="-my-2 divide-y divide-slate-200 dark:divide-slate-800">
            {report.checks.map((c) => (
              <li key={c.id} data-testid={`doctor-check-${c.id}`} data-state={c.state} className="flex flex-col gap-1 py-2 sm:flex-row sm:items-start sm:gap-3">
                <span className="w-20 shrink-0">
                  <Badge tone={TONE[c.state]}>{LABEL[c.state]}</Badge>
                </span>
                <div className="min-w-0 text-sm">
                  <p>
                    <span className="font-mono text-xs text-slate-500">{c.id}</span> {c.summary}
                  </p>
                  {c.fix && <p className="mt-0.5 text-slate-600 dark:text-slate-300">Fix: {c.fix}</p>}
                </div>
              </li>
            ))}
          </ul>
        </div>
      )}
    </Card>
  );
}
