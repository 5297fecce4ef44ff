// First run: admin password → storage → encryption key → done (the detected projects).
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { api, ApiError, errorMessage, setCsrfToken } from '../api/client';
import type { KeyInfo, Onboarding, ProjectSummary } from '../api/types';
import { IconCheck, IconDb, IconKey, IconLogo, IconStack, IconWarn } from '../components/icons';
import { ThemeSwitch } from '../components/Layout';
import { AbsentProjects, ConnectStorage } from '../components/ConnectStorage';
import { RecoverySheet } from '../components/RecoverySheet';
import { StrengthMeter } from '../components/StrengthMeter';
import { TargetForm } from '../components/TargetForm';
import { Alert, Badge, Button, Field, Input, LoadingBlock, cx } from '../components/ui';
import { plural } from '../lib/format';
import { setupTokenFrom, withoutSetupToken } from '../lib/setupToken';

type Step = 'admin' | 'storage' | 'key' | 'done';
const STEPS: { id: Step; label: string }[] = [
  { id: 'admin', label: 'Admin password' },
  { id: 'storage', label: 'Storage' },
  { id: 'key', label: 'Encryption' },
  { id: 'done', label: 'Done' },
];

export interface OnboardingProps {
  needsAdmin: boolean;
  onboarding: Onboarding | null;
  onAdminCreated: () => Promise<void>;
  onDone: (path?: string) => Promise<void>;
}

function firstStep(needsAdmin: boolean, ob: Onboarding | null): Step {
  if (needsAdmin) return 'admin';
  if (!ob || ob.targets === 0) return 'storage';
  if (!ob.key.configured) return 'key';
  return 'done';
}

export function OnboardingPage({ needsAdmin, onboarding, onAdminCreated, onDone }: OnboardingProps) {
  const [step, setStep] = useState<Step>(() => firstStep(needsAdmin, onboarding));
  const [keyDone, setKeyDone] = useState<boolean>(!!onboarding?.key.configured);
  const index = STEPS.findIndex((s) => s.id === step);

  return (
    <div className="min-h-screen">
      <header className="border-b border-slate-200 bg-white dark:border-slate-800 dark:bg-slate-900">
        <div className="mx-auto flex h-14 max-w-3xl items-center justify-between px-4">
          <div className="flex items-center gap-2 font-semibold">
            <IconLogo /> StackSnap
          </div>
          <ThemeSwitch />
        </div>
      </header>
      <main id="main" className="mx-auto max-w-3xl px-4 py-8">
        <h1 className="text-2xl font-semibold tracking-tight">Set up StackSnap</h1>
        <p className="mt-1 text-sm text-slate-600 dark:text-slate-400">Four short steps, then your Compose stacks are detected and ready to back up.</p>
        <ol className="mt-6 grid grid-cols-4 gap-2" aria-label="Setup progress">
          {STEPS.map((s, i) => (
            <li key={s.id} aria-current={i === index ? 'step' : undefined} className="min-w-0">
              <div className={cx('h-1.5 rounded-full', i < index ? 'bg-indigo-600' : i === index ? 'bg-indigo-400' : 'bg-slate-200 dark:bg-slate-800')} />
              <p className={cx('mt-2 truncate text-xs font-medium', i <= index ? 'text-slate-900 dark:text-slate-100' : 'text-slate-500')}>
                <span className="sr-only">{i < index ? 'Completed: ' : i === index ? 'Current: ' : ''}</span>
                {i + 1}. {s.label}
              </p>
            </li>
          ))}
        </ol>
        <div className="mt-6 rounded-xl border border-slate-200 bg-white p-5 shadow-sm dark:border-slate-800 dark:bg-slate-900 sm:p-6">
          {step === 'admin' && (
            <AdminStep
              onDone={async () => {
                await onAdminCreated();
                setStep('storage');
              }}
            />
          )}
          {step === 'storage' && <StorageStep onDone={() => setStep(keyDone ? 'done' : 'key')} />}
          {step === 'key' && (
            <KeyStep
              onDone={() => {
                setKeyDone(true);
                setStep('done');
              }}
            />
          )}
          {step === 'done' && <DoneStep onFinish={onDone} />}
        </div>
      </main>
    </div>
  );
}

function AdminStep({ onDone }: { onDone: () => Promise<void> }) {
  const [pw, setPw] = useState('');
  const [pw2, setPw2] = useState('');
  const [token, setToken] = useState(() => setupTokenFrom(window.location.search));
  const [askToken, setAskToken] = useState(() => token === '');
  useEffect(() => {
    // Out of the address bar and the history once read.
    const clean = withoutSetupToken(window.location);
    if (clean !== null) window.history.replaceState(window.history.state, '', clean);
  }, []);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const mismatch = pw2.length > 0 && pw !== pw2;

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (pw !== pw2) return;
    setBusy(true);
    setError(null);
    try {
      const r = await api.post<{ csrf_token: string }>('/api/setup', { password: pw, setup_token: token.trim() });
      setCsrfToken(r.csrf_token);
      await onDone();
    } catch (err) {
      if (err instanceof ApiError && err.code === 'PermissionDenied') {
        setAskToken(true);
        setError('The setup token is missing or wrong. Open the setup URL that stacksnap serve printed, or copy the token from the file setup-token in its data directory.');
      } else {
        setError(err instanceof ApiError && err.code === 'AlreadyExists' ? 'An admin password is already set. Reload the page to sign in.' : errorMessage(err));
      }
    } finally {
      setBusy(false);
    }
  }

  return (
    <form onSubmit={submit} className="space-y-5">
      <div>
        <h2 className="text-lg font-semibold">Choose the admin password</h2>
        <p className="mt-1 text-sm text-slate-600 dark:text-slate-400">
          Whoever controls StackSnap controls your Docker host. Pick a strong password; you sign in as <span className="font-medium">admin</span>.
        </p>
      </div>
      {error && <Alert>{error}</Alert>}
      {askToken && (
        <Field label="Setup token" htmlFor="ob-token" hint="Printed by stacksnap serve with the setup URL; also in the file setup-token in its data directory.">
          <Input id="ob-token" autoComplete="off" spellCheck={false} required value={token} onChange={(e) => setToken(e.target.value)} className="font-mono" />
        </Field>
      )}
      <div className="grid gap-4 sm:grid-cols-2">
        <Field label="Password" htmlFor="ob-pw">
          <Input id="ob-pw" type="password" autoComplete="new-password" autoFocus minLength={10} required value={pw} onChange={(e) => setPw(e.target.value)} aria-describedby="ob-pw-strength" />
        </Field>
        <Field label="Repeat password" htmlFor="ob-pw2" error={mismatch ? 'The passwords differ.' : null}>
          <Input id="ob-pw2" type="password" autoComplete="new-password" required value={pw2} onChange={(e) => setPw2(e.target.value)} aria-invalid={mismatch || undefined} />
        </Field>
      </div>
      <StrengthMeter id="ob-pw-strength" value={pw} minLength={10} />
      <div className="flex justify-end">
        <Button type="submit" variant="primary" busy={busy} disabled={pw.length < 10 || pw !== pw2 || token.trim() === ''}>
          Create admin and continue
        </Button>
      </div>
    </form>
  );
}

function StorageStep({ onDone }: { onDone: () => void }) {
  return (
    <div className="space-y-5">
      <div>
        <h2 className="text-lg font-semibold">Where to store backups</h2>
        <p className="mt-1 text-sm text-slate-600 dark:text-slate-400">Archives are encrypted before they leave this host. You can add more targets later in Settings.</p>
      </div>
      <TargetForm submitLabel="Save and continue" onSaved={onDone} />
    </div>
  );
}

function downloadText(filename: string, text: string) {
  const url = URL.createObjectURL(new Blob([text], { type: 'text/plain' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export function recoveryFileText(key: string, fingerprint: string, host: string): string {
  return [
    'StackSnap recovery key',
    '======================',
    '',
    `Server:      ${host}`,
    `Created:     ${new Date().toISOString()}`,
    `Fingerprint: ${fingerprint}`,
    '',
    'Key (64 hex digits):',
    key,
    '',
    'Every StackSnap backup made with this install is encrypted with this key.',
    'Without it, no backup can be restored. Keep this file somewhere safe and offline,',
    'away from the machine it protects (a password manager or a printed copy).',
    '',
    'To restore on a new machine: onboarding → Encryption → "Import a recovery key"',
    '(paste this text or upload this file), or on the command line:',
    '  stacksnap key import <this file>',
    'or save the key to a file and run: stacksnap extract --key-file <file> …',
    '',
  ].join('\n');
}

function ImportKey({ onDone }: { onDone: () => void }) {
  const [text, setText] = useState('');
  const [checked, setChecked] = useState<{ fingerprint: string; text: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const named = /Fingerprint:\s*([0-9a-f]{16})/i.exec(text)?.[1] ?? null;

  async function check(value: string) {
    setChecked(null);
    setError(null);
    if (!value.trim()) return;
    setBusy(true);
    try {
      const r = await api.post<{ fingerprint: string }>('/api/key', { mode: 'import', key: value, check_only: true });
      setChecked({ fingerprint: r.fingerprint, text: value });
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  }

  async function save() {
    if (!checked) return;
    setBusy(true);
    setError(null);
    try {
      await api.post('/api/key', { mode: 'import', key: checked.text });
      onDone();
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="space-y-4" data-testid="key-import">
      <Field label="Recovery key or recovery file" htmlFor="ob-import" hint="Paste the 64 hex digits or the whole recovery file, or upload the file.">
        <textarea
          id="ob-import"
          rows={4}
          spellCheck={false}
          autoComplete="off"
          value={text}
          onChange={(e) => {
            setText(e.target.value);
            setChecked(null);
          }}
          className="block w-full rounded-md border border-slate-300 bg-white px-3 py-2 font-mono text-xs shadow-sm focus:border-indigo-500 focus:outline-none focus:ring-2 focus:ring-indigo-500 dark:border-slate-700 dark:bg-slate-950"
        />
      </Field>
      <div className="flex flex-wrap items-center gap-2">
        <label className="inline-flex cursor-pointer items-center rounded-md border border-slate-300 px-3 py-2 text-sm font-medium focus-within:ring-2 focus-within:ring-indigo-500 dark:border-slate-700">
          Upload recovery file
          <input
            type="file"
            accept=".txt,text/plain"
            className="sr-only"
            data-testid="recovery-upload"
            onChange={async (e) => {
              const f = e.target.files?.[0];
              if (!f) return;
              const t = await f.text();
              setText(t);
              await check(t);
            }}
          />
        </label>
        <Button busy={busy && !checked} disabled={!text.trim()} onClick={() => void check(text)}>
          Check key
        </Button>
      </div>
      {error && <Alert>{error}</Alert>}
      {checked && (
        <Alert tone={named && named !== checked.fingerprint ? 'red' : 'green'} title="Key fingerprint">
          <span className="font-mono" data-testid="import-fingerprint">
            {checked.fingerprint}
          </span>
          {named && named === checked.fingerprint && <span className="block text-xs">Matches the fingerprint written in the recovery file.</span>}
          {named && named !== checked.fingerprint && <span className="block text-xs">The recovery file names {named}: this is not the same key.</span>}
          <span className="block text-xs">Compare it with the fingerprint of your old server. Nothing is saved yet.</span>
        </Alert>
      )}
      <div className="flex justify-end">
        <Button variant="primary" busy={busy && !!checked} disabled={!checked} onClick={() => void save()}>
          Import this key
        </Button>
      </div>
    </div>
  );
}

function KeyStep({ onDone }: { onDone: () => void }) {
  const [mode, setMode] = useState<'generate' | 'passphrase' | 'import'>('generate');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [created, setCreated] = useState<{ fingerprint: string; recovery_key?: string } | null>(null);
  const [saved, setSaved] = useState(false);
  const [downloaded, setDownloaded] = useState(false);
  const [copied, setCopied] = useState(false);
  const [sheet, setSheet] = useState(false);
  const [pp, setPp] = useState('');
  const [pp2, setPp2] = useState('');

  async function generate() {
    setBusy(true);
    setError(null);
    try {
      setCreated(await api.post<{ fingerprint: string; recovery_key: string }>('/api/key', { mode: 'generate' }));
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  }

  async function usePassphrase(e: FormEvent) {
    e.preventDefault();
    if (pp !== pp2) return;
    setBusy(true);
    setError(null);
    try {
      await api.post('/api/key', { mode: 'passphrase', passphrase: pp });
      onDone();
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  }

  if (created?.recovery_key) {
    const key = created.recovery_key;
    return (
      <div className="space-y-5">
        <div>
          <h2 className="text-lg font-semibold">Save your recovery key</h2>
          <p className="mt-1 text-sm text-slate-600 dark:text-slate-400">This is the only time it is shown.</p>
        </div>
        <Alert tone="amber" title="Without this key, no backup can be restored.">
          If this host is lost, you need the key to decrypt your archives on another machine. Store it somewhere safe, away from this server.
        </Alert>
        <div className="rounded-lg bg-slate-900 p-4 text-slate-100 dark:bg-black">
          <p className="mb-1 text-xs uppercase tracking-wide text-slate-400">Recovery key</p>
          <code data-testid="recovery-key" className="block select-all break-all font-mono text-sm leading-relaxed">
            {key.match(/.{1,8}/g)?.join(' ')}
          </code>
          <p className="mt-3 text-xs text-slate-400">
            Fingerprint <span className="font-mono">{created.fingerprint}</span>
          </p>
        </div>
        <div className="flex flex-wrap gap-2">
          <Button
            variant="primary"
            onClick={() => {
              downloadText(`stacksnap-recovery-${created.fingerprint}.txt`, recoveryFileText(key, created.fingerprint, window.location.host));
              setDownloaded(true);
            }}
          >
            Download recovery file
          </Button>
          <Button
            onClick={() => {
              void navigator.clipboard?.writeText(key).then(() => setCopied(true));
            }}
          >
            {copied ? 'Copied' : 'Copy key'}
          </Button>
          <Button onClick={() => setSheet(true)} data-testid="open-recovery-sheet">
            Print recovery sheet
          </Button>
          {downloaded && <Badge tone="green">Downloaded</Badge>}
        </div>
        {sheet && <RecoverySheet keyHex={key} fingerprint={created.fingerprint} onClose={() => setSheet(false)} />}
        <label className="flex items-start gap-3 text-sm">
          <input type="checkbox" className="mt-0.5 h-4 w-4 rounded border-slate-300 text-indigo-600 focus:ring-indigo-500" checked={saved} onChange={(e) => setSaved(e.target.checked)} />
          <span>I have saved the recovery key in a safe place.</span>
        </label>
        <div className="flex justify-end">
          <Button variant="primary" disabled={!saved} onClick={onDone}>
            Continue
          </Button>
        </div>
      </div>
    );
  }

  return (
    <div className="space-y-5">
      <div>
        <h2 className="text-lg font-semibold">Encryption</h2>
        <p className="mt-1 text-sm text-slate-600 dark:text-slate-400">Every archive is sealed with AES-256-GCM before it is written anywhere. Choose how the key is kept.</p>
      </div>
      <div className="grid gap-3 sm:grid-cols-3" role="radiogroup" aria-label="Key type">
        {(
          [
            { v: 'generate', title: 'Generate a key', badge: 'Recommended', desc: 'A random 256-bit key stored on this server. You save a recovery copy now.', icon: IconKey },
            { v: 'passphrase', title: 'Use a passphrase', desc: 'Derived with Argon2id. You type it again after every restart of StackSnap.', icon: IconWarn },
            { v: 'import', title: 'Import a recovery key', desc: 'Restoring on a new machine: the key of your old server, from its recovery file.', icon: IconKey },
          ] as const
        ).map((o) => (
          <label key={o.v} className={cx('flex cursor-pointer items-start gap-3 rounded-lg border p-3 focus-within:ring-2 focus-within:ring-indigo-500', mode === o.v ? 'border-indigo-500 bg-indigo-50/60 dark:bg-indigo-500/10' : 'border-slate-300 dark:border-slate-700')}>
            <input type="radio" name="key-mode" className="sr-only" checked={mode === o.v} onChange={() => setMode(o.v)} />
            <o.icon className="mt-0.5 h-5 w-5 text-indigo-600 dark:text-indigo-400" />
            <span>
              <span className="flex items-center gap-2 text-sm font-medium">
                {o.title} {'badge' in o && <Badge tone="indigo">{o.badge}</Badge>}
              </span>
              <span className="block text-xs text-slate-600 dark:text-slate-400">{o.desc}</span>
            </span>
          </label>
        ))}
      </div>
      {error && <Alert>{error}</Alert>}
      {mode === 'import' ? (
        <ImportKey onDone={onDone} />
      ) : mode === 'generate' ? (
        <div className="flex justify-end">
          <Button variant="primary" busy={busy} onClick={() => void generate()}>
            Generate key
          </Button>
        </div>
      ) : (
        <form onSubmit={usePassphrase} className="space-y-4">
          <div className="grid gap-4 sm:grid-cols-2">
            <Field label="Passphrase" htmlFor="ob-pp">
              <Input id="ob-pp" type="password" autoComplete="new-password" minLength={12} required value={pp} onChange={(e) => setPp(e.target.value)} aria-describedby="ob-pp-strength" />
            </Field>
            <Field label="Repeat passphrase" htmlFor="ob-pp2" error={pp2 && pp !== pp2 ? 'The passphrases differ.' : null}>
              <Input id="ob-pp2" type="password" autoComplete="new-password" required value={pp2} onChange={(e) => setPp2(e.target.value)} />
            </Field>
          </div>
          <StrengthMeter id="ob-pp-strength" value={pp} minLength={12} />
          <Alert tone="amber">If you forget the passphrase, no backup can be restored. Nobody can reset it.</Alert>
          <div className="flex justify-end">
            <Button type="submit" variant="primary" busy={busy} disabled={pp.length < 12 || pp !== pp2}>
              Use this passphrase
            </Button>
          </div>
        </form>
      )}
    </div>
  );
}

function DoneStep({ onFinish }: { onFinish: (path?: string) => Promise<void> }) {
  const [projects, setProjects] = useState<ProjectSummary[] | null>(null);
  const [key, setKey] = useState<KeyInfo | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [rebuilding, setRebuilding] = useState(true);

  const loadProjects = useCallback(() => {
    setRebuilding(false);
    api.get<{ projects: ProjectSummary[] }>('/api/projects').then(
      (r) => setProjects(r.projects),
      (e) => setError(errorMessage(e)),
    );
  }, []);

  useEffect(() => {
    api.get<KeyInfo>('/api/key').then(setKey, () => {});
  }, []);

  return (
    <div className="space-y-5">
      <div className="flex items-start gap-3">
        <span className="flex h-9 w-9 shrink-0 items-center justify-center rounded-full bg-emerald-100 text-emerald-700 dark:bg-emerald-500/20 dark:text-emerald-300">
          <IconCheck />
        </span>
        <div>
          <h2 className="text-lg font-semibold">StackSnap is ready</h2>
          <p className="mt-1 text-sm text-slate-600 dark:text-slate-400">
            {key?.fingerprint ? (
              <>
                Encryption key fingerprint <span className="font-mono">{key.fingerprint}</span>.{' '}
              </>
            ) : null}
            These Compose projects were found on this Docker host:
          </p>
        </div>
      </div>
      <section aria-labelledby="ob-storage-h" className="space-y-2 rounded-lg border border-slate-200 p-4 dark:border-slate-800">
        <h3 id="ob-storage-h" className="text-sm font-semibold">
          Connect existing storage
        </h3>
        <p className="text-xs text-slate-600 dark:text-slate-400">Backups already on your storage (from a previous server) are read with this key and listed here.</p>
        <ConnectStorage auto onFinished={loadProjects} />
      </section>
      {projects && <AbsentProjects projects={projects} onNavigate={(p) => void onFinish(`/projects/${encodeURIComponent(p)}?restore=1`)} />}
      {error && <Alert title="Docker is not reachable">{error}</Alert>}
      {!projects && !error && <LoadingBlock label={rebuilding ? 'Reading your storage…' : 'Looking for Compose projects…'} />}
      {projects && projects.length === 0 && (
        <Alert tone="slate" title="No Compose projects yet">
          Start a stack with <code className="font-mono">docker compose up -d</code>; it appears on the dashboard automatically.
        </Alert>
      )}
      {projects && projects.some((p) => p.state !== 'absent') && (
        <ul className="divide-y divide-slate-200 rounded-lg border border-slate-200 dark:divide-slate-800 dark:border-slate-800" data-testid="onboarding-projects">
          {projects.filter((p) => p.state !== 'absent').map((p) => (
            <li key={p.name} className="flex flex-wrap items-center justify-between gap-2 px-4 py-3">
              <span className="flex items-center gap-2 font-medium">
                <IconStack className="h-4 w-4 text-slate-400" />
                {p.name}
              </span>
              <span className="flex flex-wrap items-center gap-2 text-xs text-slate-600 dark:text-slate-400">
                {plural(p.services, 'service')} · {plural(p.volumes, 'volume')}
                {p.engines.map((e) => (
                  <Badge key={e} tone="blue">
                    <IconDb className="h-3 w-3" /> {e}
                  </Badge>
                ))}
              </span>
            </li>
          ))}
        </ul>
      )}
      <div className="flex justify-end">
        <Button
          variant="primary"
          busy={busy}
          onClick={async () => {
            setBusy(true);
            await onFinish().catch(() => {});
            setBusy(false);
          }}
        >
          Go to the dashboard
        </Button>
      </div>
    </div>
  );
}
