import { useEffect, useState, type FormEvent } from 'react';
import { useLocation } from 'react-router-dom';
import { api, enc, errorMessage } from '../api/client';
import type { ApiToken, KeyInfo, Notification, NotificationKind, NotificationTest, Settings, Target, TargetTest } from '../api/types';
import { useAuth } from '../auth';
import { DoctorCard } from '../components/DoctorCard';
import { IconBell, IconCloud, IconFolder, IconKey, IconTrash } from '../components/icons';
import { StrengthMeter } from '../components/StrengthMeter';
import { TargetForm, TargetTestResult } from '../components/TargetForm';
import { RebuildResults, rebuildFrom, type RebuildOutcome } from '../components/ConnectStorage';
import { RecoverySheet } from '../components/RecoverySheet';
import { useToast } from '../components/toast';
import { Alert, Badge, Button, Card, EmptyState, Field, Input, KeyValue, LoadingBlock, Modal, PageHeader, Select, Toggle } from '../components/ui';
import { useApi } from '../hooks/useApi';
import { formatAgo, formatDateTime, plural } from '../lib/format';

export function SettingsPage() {
  const location = useLocation();
  useEffect(() => {
    if (location.hash) document.getElementById(location.hash.slice(1))?.scrollIntoView();
  }, [location.hash]);
  return (
    <div>
      <PageHeader title="Settings" />
      <div className="space-y-6">
        <TargetsSection />
        <KeySection />
        <NotificationsSection />
        <TokensSection />
        <DoctorCard />
        <div className="grid gap-6 lg:grid-cols-2">
          <PasswordSection />
          <GeneralSection />
        </div>
      </div>
    </div>
  );
}

function TargetsSection() {
  const toast = useToast();
  const targets = useApi<{ targets: Target[] }>('/api/targets');
  const [adding, setAdding] = useState(false);
  const [editing, setEditing] = useState<Target | null>(null);
  const [tests, setTests] = useState<Record<string, TargetTest | 'busy'>>({});
  const [removing, setRemoving] = useState<Target | null>(null);
  const [reading, setReading] = useState<Record<string, RebuildOutcome>>({});

  async function readStorage(name: string) {
    setReading((s) => ({ ...s, [name]: { target: name, state: 'running' } }));
    const r = await rebuildFrom(name);
    setReading((s) => ({ ...s, [name]: r }));
    targets.reload();
  }

  async function test(t: Target) {
    setTests((s) => ({ ...s, [t.name]: 'busy' }));
    try {
      const r = await api.post<TargetTest>(`/api/targets/${enc(t.name)}/test`);
      setTests((s) => ({ ...s, [t.name]: r }));
    } catch (e) {
      setTests((s) => ({ ...s, [t.name]: { ok: false, message: errorMessage(e) } }));
    }
  }

  return (
    <Card id="targets" title="Storage targets" actions={<Button size="sm" variant="primary" onClick={() => setAdding(true)}>Add target</Button>}>
      {targets.error && <Alert>{targets.error.message}</Alert>}
      {!targets.data && targets.loading && <LoadingBlock />}
      {targets.data && targets.data.targets.length === 0 && (
        <EmptyState title="No storage target" icon={<IconFolder className="h-8 w-8" />} action={<Button variant="primary" onClick={() => setAdding(true)}>Add target</Button>}>
          Backups need somewhere to go: a local folder or an S3 bucket.
        </EmptyState>
      )}
      {targets.data && targets.data.targets.length > 0 && (
        <ul className="-my-2 divide-y divide-slate-200 dark:divide-slate-800">
          {targets.data.targets.map((t) => {
            const r = tests[t.name];
            return (
              <li key={t.name} className="space-y-2 py-3">
                <div className="flex flex-col gap-2 sm:flex-row sm:items-center sm:justify-between">
                  <div className="flex min-w-0 items-start gap-3">
                    {t.kind === 's3' ? <IconCloud className="mt-0.5 h-5 w-5 text-slate-400" /> : <IconFolder className="mt-0.5 h-5 w-5 text-slate-400" />}
                    <div className="min-w-0">
                      <p className="font-medium">
                        {t.name} <Badge>{t.kind === 's3' ? 'S3' : 'Local'}</Badge>
                      </p>
                      <p className="truncate font-mono text-xs text-slate-500">
                        {t.kind === 'local' ? t.config.path : `${t.config.endpoint || 'AWS'} / ${t.config.bucket}${t.config.prefix ? `/${t.config.prefix}` : ''}`}
                      </p>
                      {t.backups !== undefined && <p className="text-xs text-slate-500">{plural(t.backups, 'backup')}</p>}
                    </div>
                  </div>
                  <div className="flex flex-wrap gap-1.5">
                    <Button size="sm" onClick={() => void test(t)} busy={r === 'busy'}>Test</Button>
                    <Button size="sm" onClick={() => void readStorage(t.name)} busy={reading[t.name]?.state === 'running'} title="Add the backups this target holds to the catalog (e.g. made by a previous server)">
                      Read backups
                    </Button>
                    <Button size="sm" onClick={() => setEditing(t)}>Edit</Button>
                    <Button size="sm" variant="ghost" className="text-red-600 dark:text-red-400" onClick={() => setRemoving(t)} aria-label={`Remove target ${t.name}`}>
                      <IconTrash className="h-3.5 w-3.5" /> Remove
                    </Button>
                  </div>
                </div>
                {r && r !== 'busy' && <TargetTestResult result={r} />}
                {reading[t.name] && <RebuildResults results={[reading[t.name]]} />}
              </li>
            );
          })}
        </ul>
      )}
      <Modal open={adding || !!editing} onClose={() => { setAdding(false); setEditing(null); }} title={editing ? `Edit ${editing.name}` : 'Add storage target'}>
        {(adding || editing) && (
          <TargetForm
            initial={editing ?? undefined}
            submitLabel={editing ? 'Save' : 'Add target'}
            onCancel={() => { setAdding(false); setEditing(null); }}
            onSaved={(saved) => {
              const added = adding;
              setAdding(false);
              setEditing(null);
              toast('success', 'Target saved');
              targets.reload();
              // Connect existing storage: what the new target already holds is read at once.
              if (added) void readStorage(saved.name);
            }}
          />
        )}
      </Modal>
      {removing && (
        <ConfirmRemoveTarget
          target={removing}
          onClose={() => setRemoving(null)}
          onDone={() => {
            setRemoving(null);
            toast('success', 'Target removed');
            targets.reload();
          }}
        />
      )}
    </Card>
  );
}

function ConfirmRemoveTarget({ target, onClose, onDone }: { target: Target; onClose: () => void; onDone: () => void }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [force, setForce] = useState(false);
  return (
    <Modal
      open
      onClose={onClose}
      title={`Remove ${target.name}?`}
      footer={
        <>
          <Button variant="ghost" onClick={onClose}>Cancel</Button>
          <Button
            variant="danger"
            busy={busy}
            onClick={async () => {
              setBusy(true);
              setError(null);
              try {
                await api.del(`/api/targets/${enc(target.name)}${force ? '?force=true' : ''}`);
                onDone();
              } catch (e) {
                setError(errorMessage(e));
                setBusy(false);
              }
            }}
          >
            Remove target
          </Button>
        </>
      }
    >
      <p>StackSnap stops using this target. Files already stored there are left alone.</p>
      {(target.backups ?? 0) > 0 && (
        <label className="flex items-start gap-2">
          <input type="checkbox" className="mt-1" checked={force} onChange={(e) => setForce(e.target.checked)} />
          <span>Also forget the {plural(target.backups ?? 0, 'backup copy', 'backup copies')} recorded there.</span>
        </label>
      )}
      {error && <Alert>{error}</Alert>}
    </Modal>
  );
}

function KeySection() {
  const key = useApi<KeyInfo>('/api/key');
  const k = key.data;
  return (
    <Card id="key" title={<span className="flex items-center gap-2"><IconKey className="h-4 w-4" /> Encryption key</span>}>
      {key.error && <Alert>{key.error.message}</Alert>}
      {k && !k.configured && <Alert tone="amber" title="No key configured">Backups cannot run until a key is created. Finish the setup to create one.</Alert>}
      {k && k.configured && (
        <div className="space-y-3">
          <KeyValue
            items={[
              ['Fingerprint', <span className="font-mono" data-testid="key-fingerprint">{k.fingerprint}</span>],
              ['Kind', k.source === 'passphrase' ? 'Passphrase (Argon2id)' : 'Key file (256-bit random)'],
              ['State', k.unlocked ? <Badge tone="green">Unlocked</Badge> : <Badge tone="amber">Locked: enter the passphrase on the dashboard</Badge>],
            ]}
          />
          <p className="text-xs text-slate-500">The key itself is never shown again. The fingerprint identifies it: it matches the one in your recovery file.</p>
          {k.source === 'key-file' && k.fingerprint && <RecoverySheetFromFile fingerprint={k.fingerprint} />}
        </div>
      )}
    </Card>
  );
}

/** The key is never sent by the server: the user pastes (or uploads) the recovery file, its
 *  fingerprint is checked against this server's key, then the sheet is printed. */
function RecoverySheetFromFile({ fingerprint }: { fingerprint: string }) {
  const [open, setOpen] = useState(false);
  const [text, setText] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [sheet, setSheet] = useState<string | null>(null);
  async function check(value: string) {
    setError(null);
    try {
      const r = await api.post<{ fingerprint: string }>('/api/key', { mode: 'import', key: value, check_only: true });
      if (r.fingerprint !== fingerprint) {
        setError(`That key has fingerprint ${r.fingerprint}, not this server's ${fingerprint}.`);
        return;
      }
      const hex = value.split('\n').map((l) => l.replace(/[\s-]/g, '')).find((l) => /^[0-9a-fA-F]{64}$/.test(l)) ?? value.replace(/[\s-]/g, '');
      setSheet(hex.toLowerCase());
    } catch (e) {
      setError(errorMessage(e));
    }
  }
  if (!open) {
    return (
      <Button size="sm" onClick={() => setOpen(true)}>
        Print a recovery sheet…
      </Button>
    );
  }
  return (
    <div className="space-y-2 rounded-lg border border-slate-200 p-3 dark:border-slate-800">
      <Field label="Recovery key or recovery file" htmlFor="rs-key" hint="The key is not stored in the dashboard: paste it (or upload the recovery file) to print the sheet.">
        <textarea id="rs-key" rows={3} spellCheck={false} value={text} onChange={(e) => setText(e.target.value)} className="block w-full rounded-md border border-slate-300 bg-white px-3 py-2 font-mono text-xs focus:outline-none focus:ring-2 focus:ring-indigo-500 dark:border-slate-700 dark:bg-slate-950" />
      </Field>
      <div className="flex flex-wrap gap-2">
        <label className="inline-flex cursor-pointer items-center rounded-md border border-slate-300 px-3 py-1.5 text-xs font-medium focus-within:ring-2 focus-within:ring-indigo-500 dark:border-slate-700">
          Upload file
          <input type="file" accept=".txt,text/plain" className="sr-only" onChange={async (e) => { const f = e.target.files?.[0]; if (f) { const t = await f.text(); setText(t); await check(t); } }} />
        </label>
        <Button size="sm" variant="primary" disabled={!text.trim()} onClick={() => void check(text)}>Show sheet</Button>
        <Button size="sm" variant="ghost" onClick={() => setOpen(false)}>Cancel</Button>
      </div>
      {error && <Alert>{error}</Alert>}
      {sheet && <RecoverySheet keyHex={sheet} fingerprint={fingerprint} onClose={() => setSheet(null)} />}
    </div>
  );
}

const KIND_HELP: Record<NotificationKind, string> = {
  webhook: 'POSTs a JSON document to the URL.',
  ntfy: 'A push message, e.g. https://ntfy.sh/my-topic',
  healthchecks: 'Pings start, success and failure (healthchecks.io-style URL).',
};

function NotificationsSection() {
  const toast = useToast();
  const list = useApi<{ notifications: Notification[] }>('/api/notifications');
  const [name, setName] = useState('');
  const [kind, setKind] = useState<NotificationKind>('webhook');
  const [url, setUrl] = useState('');
  const [onSuccess, setOnSuccess] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [results, setResults] = useState<Record<number, NotificationTest | 'busy'>>({});

  async function add(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api.post('/api/notifications', { name: name.trim(), kind, url: url.trim(), on_success: onSuccess, on_failure: true, enabled: true });
      setName('');
      setUrl('');
      toast('success', 'Notification added');
      list.reload();
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  }

  async function test(n: Notification) {
    setResults((r) => ({ ...r, [n.id]: 'busy' }));
    try {
      const r = await api.post<NotificationTest>(`/api/notifications/${n.id}/test`);
      setResults((s) => ({ ...s, [n.id]: r }));
    } catch (e) {
      setResults((s) => ({ ...s, [n.id]: { ok: false, message: errorMessage(e) } }));
    }
  }

  async function update(n: Notification, patch: Partial<Notification>) {
    try {
      await api.put(`/api/notifications/${n.id}`, patch);
      list.reload();
    } catch (e) {
      toast('error', errorMessage(e));
    }
  }

  async function remove(n: Notification) {
    try {
      await api.del(`/api/notifications/${n.id}`);
      list.reload();
    } catch (e) {
      toast('error', errorMessage(e));
    }
  }

  return (
    <Card id="notifications" title={<span className="flex items-center gap-2"><IconBell className="h-4 w-4" /> Notifications</span>}>
      <div className="space-y-5">
        {list.error && <Alert>{list.error.message}</Alert>}
        {list.data && list.data.notifications.length === 0 && <p className="text-sm text-slate-500">Nobody is told when a backup fails yet. Add a webhook, ntfy topic or healthchecks URL.</p>}
        {list.data && list.data.notifications.length > 0 && (
          <ul className="divide-y divide-slate-200 dark:divide-slate-800">
            {list.data.notifications.map((n) => {
              const r = results[n.id];
              return (
                <li key={n.id} className="space-y-2 py-3">
                  <div className="flex flex-col gap-2 sm:flex-row sm:items-center sm:justify-between">
                    <div className="min-w-0">
                      <p className="font-medium">
                        {n.name} <Badge>{n.kind}</Badge> {!n.enabled && <Badge tone="amber">disabled</Badge>}
                      </p>
                      <p className="truncate font-mono text-xs text-slate-500">{n.url}</p>
                      <p className="text-xs text-slate-500">{n.kind === 'healthchecks' ? 'every start, success and failure' : `on failure${n.on_success ? ' and success' : ''}`}</p>
                    </div>
                    <div className="flex flex-wrap gap-1.5">
                      <Button size="sm" onClick={() => void test(n)} busy={r === 'busy'}>Send test</Button>
                      <Button size="sm" onClick={() => void update(n, { enabled: !n.enabled })}>{n.enabled ? 'Disable' : 'Enable'}</Button>
                      <Button size="sm" variant="ghost" className="text-red-600 dark:text-red-400" aria-label={`Delete notification ${n.name}`} onClick={() => void remove(n)}>
                        <IconTrash className="h-3.5 w-3.5" />
                      </Button>
                    </div>
                  </div>
                  {r && r !== 'busy' && (
                    <Alert tone={r.ok ? 'green' : 'red'}>
                      {r.ok ? `Delivered (HTTP ${r.status ?? 200}${r.attempts && r.attempts > 1 ? `, after ${r.attempts} attempts` : ''}).` : `Not delivered${r.status ? ` (HTTP ${r.status})` : ''}: ${r.message ?? 'no answer'}`}
                    </Alert>
                  )}
                </li>
              );
            })}
          </ul>
        )}
        <form onSubmit={add} className="space-y-3 rounded-lg border border-dashed border-slate-300 p-4 dark:border-slate-700">
          <p className="text-sm font-medium">Add a notification</p>
          <div className="grid gap-3 sm:grid-cols-3">
            <Field label="Name" htmlFor="n-name">
              <Input id="n-name" required value={name} onChange={(e) => setName(e.target.value)} placeholder="ops" />
            </Field>
            <Field label="Kind" htmlFor="n-kind" hint={KIND_HELP[kind]}>
              <Select id="n-kind" value={kind} onChange={(e) => setKind(e.target.value as NotificationKind)}>
                <option value="webhook">Webhook (JSON)</option>
                <option value="ntfy">ntfy</option>
                <option value="healthchecks">Healthchecks</option>
              </Select>
            </Field>
            <Field label="URL" htmlFor="n-url">
              <Input id="n-url" type="url" required value={url} onChange={(e) => setUrl(e.target.value)} placeholder="https://…" />
            </Field>
          </div>
          {kind !== 'healthchecks' && <Toggle checked={onSuccess} onChange={setOnSuccess} label="Also on success" description="Failures are always sent." />}
          {error && <Alert>{error}</Alert>}
          <div className="flex justify-end">
            <Button type="submit" busy={busy}>Add notification</Button>
          </div>
        </form>
      </div>
    </Card>
  );
}

function TokensSection() {
  const tokens = useApi<{ tokens: ApiToken[] }>('/api/tokens');
  const [name, setName] = useState('');
  const [busy, setBusy] = useState(false);
  const [created, setCreated] = useState<ApiToken | null>(null);
  const [error, setError] = useState<string | null>(null);
  const toast = useToast();

  async function create(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const t = await api.post<ApiToken>('/api/tokens', { name: name.trim() });
      setCreated(t);
      setName('');
      tokens.reload();
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  }

  async function revoke(t: ApiToken) {
    try {
      await api.del(`/api/tokens/${t.id}`);
      toast('success', `Token ${t.name} revoked`);
      tokens.reload();
    } catch (e) {
      toast('error', errorMessage(e));
    }
  }

  return (
    <Card id="tokens" title="API tokens">
      <div className="space-y-4">
        <p className="text-sm text-slate-600 dark:text-slate-400">For scripts and Prometheus: send <code className="font-mono text-xs">Authorization: Bearer ss_…</code>.</p>
        {tokens.error && <Alert>{tokens.error.message}</Alert>}
        {created?.token && (
          <Alert tone="green" title={`Token “${created.name}” created: copy it now, it is not shown again.`} action={<Button size="sm" onClick={() => setCreated(null)}>Done</Button>}>
            <code className="mt-1 block select-all break-all rounded bg-white/70 px-2 py-1 font-mono text-xs dark:bg-black/30" data-testid="new-token">{created.token}</code>
          </Alert>
        )}
        {tokens.data && tokens.data.tokens.length > 0 && (
          <ul className="divide-y divide-slate-200 dark:divide-slate-800">
            {tokens.data.tokens.map((t) => (
              <li key={t.id} className="flex flex-col gap-1 py-2 sm:flex-row sm:items-center sm:justify-between">
                <div>
                  <p className="font-medium">{t.name} <span className="font-mono text-xs text-slate-500">{t.prefix}…</span></p>
                  <p className="text-xs text-slate-500">created {formatDateTime(t.created_at)} · last used {formatAgo(t.last_used)}</p>
                </div>
                <Button size="sm" variant="ghost" className="text-red-600 dark:text-red-400" onClick={() => void revoke(t)}>Revoke</Button>
              </li>
            ))}
          </ul>
        )}
        <form onSubmit={create} className="flex flex-col gap-2 sm:flex-row sm:items-end">
          <div className="flex-1">
            <Field label="New token name" htmlFor="tok-name">
              <Input id="tok-name" required maxLength={100} value={name} onChange={(e) => setName(e.target.value)} placeholder="prometheus" />
            </Field>
          </div>
          <Button type="submit" busy={busy}>Create token</Button>
        </form>
        {error && <Alert>{error}</Alert>}
      </div>
    </Card>
  );
}

function PasswordSection() {
  const toast = useToast();
  const { logout } = useAuth();
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [next2, setNext2] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (next !== next2) return;
    setBusy(true);
    setError(null);
    try {
      await api.post('/api/password', { current, new: next });
      setCurrent('');
      setNext('');
      setNext2('');
      toast('success', 'Password changed. Other sessions were signed out and API tokens revoked.');
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <Card id="account" title="Admin password" actions={<Button size="sm" variant="ghost" onClick={logout}>Sign out</Button>}>
      <form onSubmit={submit} className="space-y-3">
        <Field label="Current password" htmlFor="pw-cur">
          <Input id="pw-cur" type="password" autoComplete="current-password" required value={current} onChange={(e) => setCurrent(e.target.value)} />
        </Field>
        <Field label="New password" htmlFor="pw-new">
          <Input id="pw-new" type="password" autoComplete="new-password" required minLength={10} value={next} onChange={(e) => setNext(e.target.value)} />
        </Field>
        <StrengthMeter value={next} minLength={10} />
        <Field label="Repeat new password" htmlFor="pw-new2" error={next2 && next !== next2 ? 'The passwords differ.' : null}>
          <Input id="pw-new2" type="password" autoComplete="new-password" required value={next2} onChange={(e) => setNext2(e.target.value)} />
        </Field>
        {error && <Alert>{error}</Alert>}
        <div className="flex justify-end">
          <Button type="submit" busy={busy} disabled={next.length < 10 || next !== next2 || !current}>Change password</Button>
        </div>
      </form>
    </Card>
  );
}

function GeneralSection() {
  const toast = useToast();
  const settings = useApi<Settings>('/api/settings');
  const [serverName, setServerName] = useState('');
  const [maxJobs, setMaxJobs] = useState('2');
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    if (settings.data) {
      setServerName(settings.data.server_name);
      setMaxJobs(String(settings.data.max_concurrent_jobs));
    }
  }, [settings.data]);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    try {
      await api.put('/api/settings', { server_name: serverName.trim(), max_concurrent_jobs: Number(maxJobs) });
      toast('success', 'Settings saved');
      settings.reload();
    } catch (err) {
      toast('error', errorMessage(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <Card id="general" title="General">
      {settings.error ? (
        <Alert>{settings.error.message}</Alert>
      ) : (
        <form onSubmit={submit} className="space-y-3">
          <Field label="Server name" htmlFor="set-name" hint="Shown in notifications.">
            <Input id="set-name" value={serverName} onChange={(e) => setServerName(e.target.value)} />
          </Field>
          <Field label="Jobs at the same time" htmlFor="set-jobs" hint="1–8, across all projects (one per project).">
            <Input id="set-jobs" type="number" min={1} max={8} value={maxJobs} onChange={(e) => setMaxJobs(e.target.value)} />
          </Field>
          <div className="flex justify-end">
            <Button type="submit" busy={busy} disabled={!settings.data}>Save</Button>
          </div>
        </form>
      )}
    </Card>
  );
}
