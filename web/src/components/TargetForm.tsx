// The storage form used by onboarding and settings: local path or S3, "Test connection"
// against the values in the form (POST /api/targets/test; when editing, with the saved
// target's name so that its stored secret is used unless a new one is typed), then save.
import { useState, type FormEvent } from 'react';
import { api, errorMessage } from '../api/client';
import type { Target, TargetConfig, TargetKind, TargetTest } from '../api/types';
import { IconCloud, IconFolder } from './icons';
import { Alert, Button, Field, Input, Select, cx } from './ui';

export function TargetTestResult({ result }: { result: TargetTest }) {
  if (result.ok) {
    return (
      <Alert tone="green" title="Connection works">
        {result.describe && <span className="font-mono text-xs">{result.describe}</span>}
        {result.steps && (
          <span className="block text-xs">
            {result.steps.map((s) => `${s.step} ${s.ms} ms`).join(' · ')}
            {result.latency_ms != null && ` — ${result.latency_ms} ms in total`}
          </span>
        )}
      </Alert>
    );
  }
  return (
    <Alert tone="red" title={`${FAILURE_TITLES[result.kind ?? ''] ?? 'Connection failed'}${result.step ? ` (at “${result.step}”)` : ''}`}>
      <span data-testid="target-test-kind" data-kind={result.kind ?? ''} className="block">
        {result.hint || result.message || 'The target did not answer as expected.'}
      </span>
      {result.hint && result.message && <span className="mt-1 block break-words font-mono text-xs opacity-80">{result.message}</span>}
      {result.code && <span className="font-mono text-xs opacity-80">({result.code})</span>}
    </Alert>
  );
}

const FAILURE_TITLES: Record<string, string> = {
  dns: 'The endpoint’s host name does not resolve',
  tls: 'TLS certificate problem',
  connect: 'The endpoint does not answer',
  access_denied: 'Access denied (403)',
  bucket_missing: 'The bucket does not exist',
  clock_skew: 'This machine’s clock is off',
  config: 'The settings are not valid',
  full: 'The storage is full',
};

export interface TargetFormProps {
  initial?: Target;
  submitLabel: string;
  onSaved: (t: Target) => void;
  onCancel?: () => void;
}

export function TargetForm({ initial, submitLabel, onSaved, onCancel }: TargetFormProps) {
  const editing = !!initial;
  const [kind, setKind] = useState<TargetKind>(initial?.kind ?? 'local');
  const [name, setName] = useState(initial?.name ?? 'local');
  const [path, setPath] = useState(initial?.config.path ?? '/var/lib/stacksnap/backups');
  const [endpoint, setEndpoint] = useState(initial?.config.endpoint ?? '');
  const [bucket, setBucket] = useState(initial?.config.bucket ?? '');
  const [region, setRegion] = useState(initial?.config.region ?? 'us-east-1');
  const [prefix, setPrefix] = useState(initial?.config.prefix ?? '');
  const [addressing, setAddressing] = useState<TargetConfig['addressing']>(initial?.config.addressing ?? 'auto');
  const [accessKey, setAccessKey] = useState(initial?.config.access_key ?? '');
  const [secretKey, setSecretKey] = useState('');
  const [readable, setReadable] = useState<boolean>(initial?.config.readable_names ?? false);
  const [thresholdMib, setThresholdMib] = useState<string>(initial?.config.multipart_threshold ? String(Math.round(initial.config.multipart_threshold / 1048576)) : '');
  const [caPem, setCaPem] = useState('');
  const [keepCa, setKeepCa] = useState<boolean>(!!initial?.config.ca_file);
  const [testing, setTesting] = useState(false);
  const [saving, setSaving] = useState(false);
  const [test, setTest] = useState<TargetTest | null>(null);
  const [error, setError] = useState<string | null>(null);

  function config(): TargetConfig {
    if (kind === 'local') return { path: path.trim(), readable_names: readable };
    const c: TargetConfig = { endpoint: endpoint.trim(), bucket: bucket.trim(), region: region.trim(), addressing, access_key: accessKey.trim(), readable_names: readable };
    if (prefix.trim()) c.prefix = prefix.trim();
    if (secretKey) c.secret_key = secretKey;
    const mib = Number(thresholdMib);
    if (thresholdMib.trim() !== '' && Number.isFinite(mib) && mib > 0) c.multipart_threshold = Math.round(mib * 1048576);
    if (caPem.trim()) c.ca_pem = caPem.trim() + '\n';
    else if (keepCa && initial?.config.ca_file) c.ca_file = initial.config.ca_file;
    return c;
  }

  async function runTest() {
    setTesting(true);
    setTest(null);
    setError(null);
    try {
      // Always the values in the form; the saved target's name lets the server use the
      // stored secret when none is typed.
      const body: Record<string, unknown> = { kind, config: config() };
      if (editing) body.name = initial!.name;
      setTest(await api.post<TargetTest>('/api/targets/test', body));
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setTesting(false);
    }
  }

  async function submit(e: FormEvent) {
    e.preventDefault();
    setSaving(true);
    setError(null);
    try {
      const t = editing
        ? await api.put<Target>(`/api/targets/${encodeURIComponent(initial!.name)}`, { kind, config: config() })
        : await api.post<Target>('/api/targets', { name: name.trim(), kind, config: config() });
      onSaved(t);
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setSaving(false);
    }
  }

  const kinds: { v: TargetKind; label: string; desc: string; icon: typeof IconFolder }[] = [
    { v: 'local', label: 'Local folder', desc: 'A directory on this host, a mounted NAS or USB disk', icon: IconFolder },
    { v: 's3', label: 'S3-compatible', desc: 'AWS S3, MinIO, Backblaze B2, Wasabi, Garage…', icon: IconCloud },
  ];

  return (
    <form onSubmit={submit} className="space-y-5">
      <fieldset>
        <legend className="mb-2 text-sm font-medium">Where should backups go?</legend>
        <div className="grid gap-3 sm:grid-cols-2" role="radiogroup">
          {kinds.map((k) => (
            <label
              key={k.v}
              className={cx(
                'flex cursor-pointer items-start gap-3 rounded-lg border p-3 focus-within:ring-2 focus-within:ring-indigo-500',
                kind === k.v ? 'border-indigo-500 bg-indigo-50/60 dark:bg-indigo-500/10' : 'border-slate-300 hover:border-slate-400 dark:border-slate-700',
              )}
            >
              <input
                type="radio"
                name="target-kind"
                value={k.v}
                checked={kind === k.v}
                disabled={editing}
                onChange={() => {
                  setKind(k.v);
                  setTest(null);
                  if (!editing && (name === 'local' || name === 's3')) setName(k.v);
                }}
                className="sr-only"
              />
              <k.icon className="mt-0.5 h-5 w-5 text-indigo-600 dark:text-indigo-400" />
              <span>
                <span className="block text-sm font-medium">{k.label}</span>
                <span className="block text-xs text-slate-600 dark:text-slate-400">{k.desc}</span>
              </span>
            </label>
          ))}
        </div>
      </fieldset>

      <div className="grid gap-4 sm:grid-cols-2">
        <Field label="Name" htmlFor="t-name" hint="How this target is shown and referred to.">
          <Input id="t-name" required pattern="[A-Za-z0-9][A-Za-z0-9._\-]{0,62}" value={name} disabled={editing} onChange={(e) => setName(e.target.value)} />
        </Field>
        {kind === 'local' ? (
          <Field label="Folder path" htmlFor="t-path" hint="An absolute path; created if missing.">
            <Input id="t-path" required value={path} onChange={(e) => { setPath(e.target.value); setTest(null); }} className="font-mono" />
          </Field>
        ) : (
          <>
            <Field label="Endpoint" htmlFor="t-endpoint" hint="Leave empty for AWS.">
              <Input id="t-endpoint" placeholder="https://s3.example.com" value={endpoint} onChange={(e) => setEndpoint(e.target.value)} />
            </Field>
            <Field label="Bucket" htmlFor="t-bucket">
              <Input id="t-bucket" required value={bucket} onChange={(e) => setBucket(e.target.value)} />
            </Field>
            <Field label="Region" htmlFor="t-region">
              <Input id="t-region" value={region} onChange={(e) => setRegion(e.target.value)} />
            </Field>
            <Field label="Prefix (optional)" htmlFor="t-prefix" hint="A folder inside the bucket, e.g. the host name.">
              <Input id="t-prefix" value={prefix} onChange={(e) => setPrefix(e.target.value)} />
            </Field>
            <Field label="Addressing" htmlFor="t-addr">
              <Select id="t-addr" value={addressing} onChange={(e) => setAddressing(e.target.value as TargetConfig['addressing'])}>
                <option value="auto">Automatic</option>
                <option value="path">Path style (MinIO, most self-hosted)</option>
                <option value="virtual">Virtual host style</option>
              </Select>
            </Field>
            <Field label="Access key" htmlFor="t-ak">
              <Input id="t-ak" required autoComplete="off" value={accessKey} onChange={(e) => setAccessKey(e.target.value)} className="font-mono" />
            </Field>
            <Field label="Secret key" htmlFor="t-sk" hint={initial?.config.secret_key_set ? 'Stored. Leave empty to keep it.' : 'Stored on this server only; never shown again.'}>
              <Input id="t-sk" type="password" autoComplete="off" required={!initial?.config.secret_key_set} value={secretKey} onChange={(e) => setSecretKey(e.target.value)} />
            </Field>
            <Field label="Multipart threshold in MiB (optional)" htmlFor="t-mp" hint="Archives larger than this are uploaded in parts. Empty: the default.">
              <Input id="t-mp" type="number" min={5} step={1} inputMode="numeric" value={thresholdMib} onChange={(e) => setThresholdMib(e.target.value)} />
            </Field>
            <div className="sm:col-span-2">
              <Field
                label="CA bundle (optional, PEM)"
                htmlFor="t-ca"
                hint={initial?.config.ca_file && keepCa ? 'A CA bundle is stored. Paste a new one to replace it.' : 'For an endpoint whose certificate is signed by a private CA: paste the CA certificate.'}
              >
                <textarea
                  id="t-ca"
                  rows={3}
                  spellCheck={false}
                  value={caPem}
                  onChange={(e) => setCaPem(e.target.value)}
                  placeholder="-----BEGIN CERTIFICATE-----"
                  className="block w-full rounded-md border border-slate-300 bg-white px-3 py-2 font-mono text-xs shadow-sm focus:border-indigo-500 focus:outline-none focus:ring-2 focus:ring-indigo-500 dark:border-slate-700 dark:bg-slate-950"
                />
              </Field>
              {initial?.config.ca_file && (
                <label className="mt-2 flex items-center gap-2 text-xs">
                  <input type="checkbox" checked={keepCa} onChange={(e) => setKeepCa(e.target.checked)} className="h-4 w-4 rounded border-slate-300 text-indigo-600 focus:ring-indigo-500" />
                  Keep the stored CA bundle
                </label>
              )}
            </div>
          </>
        )}
        <div className="sm:col-span-2">
          <label className="flex items-start gap-3 text-sm">
            <input type="checkbox" checked={readable} onChange={(e) => setReadable(e.target.checked)} className="mt-0.5 h-4 w-4 rounded border-slate-300 text-indigo-600 focus:ring-indigo-500" />
            <span>
              Readable names
              <span className="block text-xs text-slate-600 dark:text-slate-400">Store backups under backups/&lt;project&gt;/ so that project names are visible on the storage. Off: opaque names only.</span>
            </span>
          </label>
        </div>
      </div>

      {test && <TargetTestResult result={test} />}
      {error && <Alert>{error}</Alert>}

      <div className="flex flex-col-reverse gap-2 sm:flex-row sm:justify-end">
        {onCancel && (
          <Button variant="ghost" onClick={onCancel}>
            Cancel
          </Button>
        )}
        <Button onClick={() => void runTest()} busy={testing}>
          Test connection
        </Button>
        <Button type="submit" variant="primary" busy={saving}>
          {submitLabel}
        </Button>
      </div>
    </form>
  );
}
