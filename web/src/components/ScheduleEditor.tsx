// Schedule + retention editor for one project, with a live, human-readable cron preview.
import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { api, ApiError, enc, errorMessage } from '../api/client';
import type { RetentionPolicy, RetentionRule, Schedule } from '../api/types';
import { previewCron } from '../lib/cron';
import { formatDateTime } from '../lib/format';
import { useToast } from './toast';
import { Alert, Button, Field, Input, Select, Toggle } from './ui';

const PRESETS: { label: string; cron: string }[] = [
  { label: 'Daily at 03:00', cron: '0 3 * * *' },
  { label: 'Every 6 hours', cron: '0 */6 * * *' },
  { label: 'Hourly', cron: '0 * * * *' },
  { label: 'Weekly (Sunday 03:00)', cron: '0 3 * * 0' },
];

function browserZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}

function zoneList(): string[] {
  const intl = Intl as unknown as { supportedValuesOf?: (k: string) => string[] };
  try {
    const z = intl.supportedValuesOf?.('timeZone');
    if (z && z.length) return z.includes('UTC') ? z : ['UTC', ...z];
  } catch {
    /* older browser */
  }
  return ['UTC', browserZone()];
}

function formatInZone(ms: number, tz: string): string {
  try {
    return new Intl.DateTimeFormat(undefined, { timeZone: tz, weekday: 'short', year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date(ms));
  } catch {
    return formatDateTime(ms / 1000);
  }
}

export function CronPreview({ cron, timezone, label = 'Runs' }: { cron: string; timezone: string; label?: string }) {
  const preview = useMemo(() => previewCron(cron, timezone || 'UTC'), [cron, timezone]);
  if (!cron.trim()) return null;
  if (!preview.ok) {
    return (
      <p className="text-xs text-red-600 dark:text-red-400" role="alert">
        {preview.error}
      </p>
    );
  }
  return (
    <div className="rounded-md bg-slate-50 px-3 py-2 text-xs dark:bg-slate-800/60" aria-live="polite" data-testid="cron-preview">
      <p className="text-sm font-medium text-slate-900 dark:text-slate-100">
        {label}: {preview.description.charAt(0).toLowerCase() + preview.description.slice(1)} ({timezone || 'UTC'})
      </p>
      {preview.next.length > 0 && (
        <p className="mt-1 text-slate-600 dark:text-slate-400">
          Next: {preview.next.map((t) => formatInZone(t, timezone || 'UTC')).join(' · ')}
        </p>
      )}
    </div>
  );
}

export function ScheduleEditor({ project, schedule, onSaved }: { project: string; schedule: Schedule | null; onSaved: () => void }) {
  const toast = useToast();
  const [cron, setCron] = useState(schedule?.cron ?? '0 3 * * *');
  const [timezone, setTimezone] = useState(schedule?.timezone ?? browserZone());
  const [enabled, setEnabled] = useState(schedule?.enabled ?? true);
  const [safeMode, setSafeMode] = useState(schedule?.safe_mode ?? false);
  const [jitter, setJitter] = useState(String(schedule?.jitter_s ?? 0));
  const [drillOn, setDrillOn] = useState(!!schedule?.drill_cron);
  const [drillCron, setDrillCron] = useState(schedule?.drill_cron || '0 5 * * 0');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const zones = useMemo(zoneList, []);

  useEffect(() => {
    if (!schedule) return;
    setCron(schedule.cron);
    setTimezone(schedule.timezone);
    setEnabled(schedule.enabled);
    setSafeMode(schedule.safe_mode);
    setJitter(String(schedule.jitter_s));
    setDrillOn(!!schedule.drill_cron);
    if (schedule.drill_cron) setDrillCron(schedule.drill_cron);
  }, [schedule]);

  const valid = previewCron(cron, timezone).ok && (!drillOn || previewCron(drillCron, timezone).ok);

  async function save(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api.put(`/api/projects/${enc(project)}/schedule`, {
        cron: cron.trim(),
        timezone,
        enabled,
        safe_mode: safeMode,
        jitter_s: Math.max(0, Math.min(3600, Number(jitter) || 0)),
        drill_cron: drillOn ? drillCron.trim() : '',
      });
      toast('success', 'Schedule saved');
      onSaved();
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  }

  async function remove() {
    setBusy(true);
    setError(null);
    try {
      await api.del(`/api/projects/${enc(project)}/schedule`);
      toast('success', 'Schedule removed');
      onSaved();
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 404)) setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form onSubmit={save} className="space-y-4" aria-label="Schedule">
      <div className="flex flex-wrap gap-2" aria-label="Presets">
        {PRESETS.map((p) => (
          <button
            key={p.cron}
            type="button"
            onClick={() => setCron(p.cron)}
            className="rounded-full border border-slate-300 px-2.5 py-1 text-xs hover:bg-slate-100 focus-visible:outline focus-visible:outline-2 focus-visible:outline-indigo-500 dark:border-slate-700 dark:hover:bg-slate-800"
          >
            {p.label}
          </button>
        ))}
      </div>
      <div className="grid gap-4">
        <Field label="Cron expression" htmlFor="sch-cron" hint="minute hour day month weekday, or @daily">
          <Input id="sch-cron" value={cron} onChange={(e) => setCron(e.target.value)} className="font-mono" spellCheck={false} />
        </Field>
        <Field label="Time zone" htmlFor="sch-tz">
          <Select id="sch-tz" value={timezone} onChange={(e) => setTimezone(e.target.value)}>
            {!zones.includes(timezone) && <option value={timezone}>{timezone}</option>}
            {zones.map((z) => (
              <option key={z} value={z}>
                {z}
              </option>
            ))}
          </Select>
        </Field>
      </div>
      <CronPreview cron={cron} timezone={timezone} />
      <div className="grid gap-4">
        <Field label="Random delay (seconds)" htmlFor="sch-jitter" hint="Spreads runs of many projects; 0–3600.">
          <Input id="sch-jitter" type="number" min={0} max={3600} value={jitter} onChange={(e) => setJitter(e.target.value)} />
        </Field>
      </div>
      <Toggle checked={enabled} onChange={setEnabled} label="Schedule enabled" description="Paused schedules keep their settings." />
      <Toggle checked={safeMode} onChange={setSafeMode} label="Safe Mode for scheduled backups" description="Pauses the app containers while volumes are copied, for a consistent snapshot." />
      <Toggle checked={drillOn} onChange={setDrillOn} label="Scheduled restore drills" description="Restores the newest backup into a throw-away sandbox and checks it." />
      {drillOn && (
        <div className="space-y-2 pl-14">
          <Field label="Drill cron" htmlFor="sch-drill">
            <Input id="sch-drill" value={drillCron} onChange={(e) => setDrillCron(e.target.value)} className="font-mono" spellCheck={false} />
          </Field>
          <CronPreview cron={drillCron} timezone={timezone} label="Drills" />
        </div>
      )}
      {schedule && (
        <p className="text-xs text-slate-500">
          Last run {schedule.last_run ? formatDateTime(schedule.last_run) : 'never'} · next {schedule.next_run ? formatDateTime(schedule.next_run) : '—'}
        </p>
      )}
      {error && <Alert>{error}</Alert>}
      <div className="flex flex-col-reverse gap-2 sm:flex-row sm:justify-end">
        {schedule && (
          <Button variant="ghost" onClick={() => void remove()} disabled={busy}>
            Remove schedule
          </Button>
        )}
        <Button type="submit" variant="primary" busy={busy} disabled={!valid}>
          Save schedule
        </Button>
      </div>
    </form>
  );
}

const RULES: { k: keyof RetentionRule; label: string }[] = [
  { k: 'keep_last', label: 'Last' },
  { k: 'keep_daily', label: 'Daily' },
  { k: 'keep_weekly', label: 'Weekly' },
  { k: 'keep_monthly', label: 'Monthly' },
  { k: 'keep_yearly', label: 'Yearly' },
];

export function describeRetention(r: RetentionRule): string {
  const parts = RULES.filter(({ k }) => r[k] > 0).map(({ k, label }) => `${label.toLowerCase()} ${r[k]}`);
  return parts.length ? `Keep ${parts.join(', ')}` : 'Keep every backup';
}

export function RetentionEditor({ project, policies, onSaved }: { project: string; policies: RetentionPolicy[]; onSaved: () => void }) {
  const toast = useToast();
  const current = policies.find((p) => p.target === '*')?.policy;
  const [rule, setRule] = useState<RetentionRule>(current ?? { keep_last: 3, keep_daily: 7, keep_weekly: 4, keep_monthly: 6, keep_yearly: 0 });
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    if (current) setRule(current);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [JSON.stringify(current)]);

  async function save(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api.put(`/api/projects/${enc(project)}/retention`, { target: '*', ...rule });
      toast('success', 'Retention saved');
      onSaved();
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form onSubmit={save} className="space-y-4" aria-label="Retention">
      <div className="grid grid-cols-2 gap-3 sm:grid-cols-5">
        {RULES.map(({ k, label }) => (
          <Field key={k} label={label} htmlFor={`ret-${k}`}>
            <Input id={`ret-${k}`} type="number" min={0} max={1000} value={rule[k]} onChange={(e) => setRule({ ...rule, [k]: Math.max(0, Number(e.target.value) || 0) })} />
          </Field>
        ))}
      </div>
      <p className="text-sm text-slate-600 dark:text-slate-400">
        {describeRetention(rule)}. Applied after each scheduled backup, on every target. The newest verified backup is always kept.
      </p>
      {policies.filter((p) => p.target !== '*').map((p) => (
        <p key={p.target} className="text-xs text-slate-500">
          Target {p.target}: {p.description ?? describeRetention(p.policy)}
        </p>
      ))}
      {error && <Alert>{error}</Alert>}
      <div className="flex justify-end">
        <Button type="submit" busy={busy}>
          Save retention
        </Button>
      </div>
    </form>
  );
}
