import { useState, type FormEvent } from 'react';
import { api, ApiError, errorMessage, setCsrfToken } from '../api/client';
import { IconLogo } from '../components/icons';
import { ThemeSwitch } from '../components/Layout';
import { Alert, Button, Field, Input } from '../components/ui';

export function LoginPage({ onLoggedIn }: { onLoggedIn: () => void }) {
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const r = await api.post<{ csrf_token: string }>('/api/login', { password }, { quiet401: true });
      setCsrfToken(r.csrf_token);
      onLoggedIn();
    } catch (err) {
      setError(err instanceof ApiError && err.status === 401 ? 'That password is not right.' : errorMessage(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="flex min-h-screen flex-col items-center justify-center px-4">
      <div className="absolute right-4 top-4">
        <ThemeSwitch />
      </div>
      <div className="w-full max-w-sm">
        <div className="mb-6 flex flex-col items-center gap-3 text-center">
          <IconLogo className="h-12 w-12" />
          <h1 className="text-2xl font-semibold tracking-tight">Sign in to StackSnap</h1>
        </div>
        <form onSubmit={submit} className="space-y-4 rounded-xl border border-slate-200 bg-white p-6 shadow-sm dark:border-slate-800 dark:bg-slate-900">
          {error && <Alert>{error}</Alert>}
          <p className="text-sm text-slate-600 dark:text-slate-400">
            User <span className="font-medium text-slate-900 dark:text-slate-100">admin</span>
          </p>
          <Field label="Password" htmlFor="login-password">
            <Input id="login-password" type="password" autoComplete="current-password" autoFocus required value={password} onChange={(e) => setPassword(e.target.value)} />
          </Field>
          <Button type="submit" variant="primary" className="w-full" busy={busy}>
            Sign in
          </Button>
        </form>
      </div>
    </div>
  );
}
