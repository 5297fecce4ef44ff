import { useState, type FormEvent } from 'react';
import { api, errorMessage } from '../api/client';
import { useAuth } from '../auth';
import { Alert, Button, Input } from './ui';

/** A passphrase key is locked after a restart: backups need it unlocked. */
export function KeyLockedBanner() {
  const { refreshOnboarding } = useAuth();
  const [pp, setPp] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api.post('/api/key/unlock', { passphrase: pp });
      await refreshOnboarding();
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  }
  return (
    <Alert tone="amber" title="The encryption key is locked">
      <p>StackSnap was restarted. Enter the passphrase so backups, verifies and restores can run.</p>
      <form onSubmit={submit} className="mt-2 flex flex-col gap-2 sm:flex-row">
        <label className="sr-only" htmlFor="unlock-pp">Passphrase</label>
        <Input id="unlock-pp" type="password" autoComplete="current-password" value={pp} onChange={(e) => setPp(e.target.value)} className="sm:max-w-xs" />
        <Button type="submit" variant="primary" busy={busy} disabled={!pp}>
          Unlock
        </Button>
      </form>
      {error && <p className="mt-1 text-red-700 dark:text-red-300">{error}</p>}
    </Alert>
  );
}
