import { useCallback, useEffect, useState } from 'react';
import { Navigate, Route, Routes, useNavigate } from 'react-router-dom';
import { api, ApiError, errorMessage, onUnauthorized, setCsrfToken } from './api/client';
import type { Onboarding, SessionInfo } from './api/types';
import { AuthContext } from './auth';
import { Layout } from './components/Layout';
import { Alert, Button, LoadingBlock } from './components/ui';
import { DashboardPage } from './pages/Dashboard';
import { JobPage } from './pages/Job';
import { JobsPage } from './pages/Jobs';
import { LoginPage } from './pages/Login';
import { NotFoundPage } from './pages/NotFound';
import { OnboardingPage } from './pages/Onboarding';
import { ProjectPage } from './pages/Project';
import { SettingsPage } from './pages/Settings';

type Phase = { kind: 'loading' } | { kind: 'setup' } | { kind: 'login' } | { kind: 'ready' } | { kind: 'unreachable'; message: string };

export default function App() {
  const [phase, setPhase] = useState<Phase>({ kind: 'loading' });
  const [onboarding, setOnboarding] = useState<Onboarding | null>(null);
  const navigate = useNavigate();

  const refreshOnboarding = useCallback(async () => {
    try {
      setOnboarding(await api.get<Onboarding>('/api/onboarding'));
    } catch (e) {
      // A 404 says nothing about what is configured (a proxy in front, a wrong path, a
      // server of another kind): never take it for "set up", say so.
      if (e instanceof ApiError && (e.status === 404 || e.status === 405)) {
        throw new Error(
          `This server did not answer /api/onboarding (HTTP ${e.status}): it is not a StackSnap server of this version, or a proxy in front of it does not pass /api/. Nothing is assumed to be configured.`,
        );
      }
      throw e;
    }
  }, []);

  const boot = useCallback(async () => {
    setPhase({ kind: 'loading' });
    try {
      const setup = await api.get<{ needs_setup: boolean }>('/api/setup');
      if (setup.needs_setup) {
        setPhase({ kind: 'setup' });
        return;
      }
      try {
        const s = await api.get<SessionInfo>('/api/session', { quiet401: true });
        setCsrfToken(s.csrf_token);
      } catch (e) {
        if (e instanceof ApiError && e.status === 401) {
          setPhase({ kind: 'login' });
          return;
        }
        throw e;
      }
      await refreshOnboarding();
      setPhase({ kind: 'ready' });
    } catch (e) {
      setPhase({ kind: 'unreachable', message: errorMessage(e) });
    }
  }, [refreshOnboarding]);

  useEffect(() => {
    void boot();
  }, [boot]);

  useEffect(
    () =>
      onUnauthorized(() => {
        setCsrfToken(null);
        setPhase((p) => (p.kind === 'ready' ? { kind: 'login' } : p));
      }),
    [],
  );

  const logout = useCallback(async () => {
    try {
      await api.post('/api/logout');
    } catch {
      /* the session may already be gone */
    }
    setCsrfToken(null);
    setPhase({ kind: 'login' });
    navigate('/');
  }, [navigate]);

  if (phase.kind === 'loading') {
    return (
      <div className="flex min-h-screen items-center justify-center">
        <LoadingBlock label="Connecting to StackSnap…" />
      </div>
    );
  }
  if (phase.kind === 'unreachable') {
    return (
      <div className="mx-auto flex min-h-screen max-w-lg items-center px-4">
        <Alert title="StackSnap is not answering" action={<Button onClick={() => void boot()}>Try again</Button>}>
          {phase.message}
        </Alert>
      </div>
    );
  }
  if (phase.kind === 'login') {
    return <LoginPage onLoggedIn={() => void boot()} />;
  }

  const ctx = { logout: () => void logout(), onboarding, refreshOnboarding };
  const onboardingOpen = phase.kind === 'setup' || (onboarding !== null && !onboarding.complete);
  if (onboardingOpen) {
    return (
      <AuthContext.Provider value={ctx}>
        <OnboardingPage
          needsAdmin={phase.kind === 'setup'}
          onboarding={onboarding}
          onAdminCreated={async () => {
            await refreshOnboarding();
            setPhase({ kind: 'ready' });
          }}
          onDone={async (path?: string) => {
            await refreshOnboarding();
            navigate(path ?? '/');
          }}
        />
      </AuthContext.Provider>
    );
  }

  return (
    <AuthContext.Provider value={ctx}>
      <Layout>
        <Routes>
          <Route path="/" element={<DashboardPage />} />
          <Route path="/projects/:name" element={<ProjectPage />} />
          <Route path="/jobs" element={<JobsPage />} />
          <Route path="/jobs/:id" element={<JobPage />} />
          <Route path="/settings" element={<SettingsPage />} />
          <Route path="/setup" element={<Navigate to="/" replace />} />
          <Route path="*" element={<NotFoundPage />} />
        </Routes>
      </Layout>
    </AuthContext.Provider>
  );
}
