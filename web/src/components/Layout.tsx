import { useEffect, useState, type ReactNode } from 'react';
import { NavLink } from 'react-router-dom';
import { useAuth, LiveContext } from '../auth';
import { useTheme, type ThemeChoice } from '../hooks/useTheme';
import { IconCog, IconList, IconLogo, IconMonitor, IconMoon, IconStack, IconSun } from './icons';
import { cx } from './ui';

const NAV = [
  { to: '/', label: 'Projects', icon: IconStack, end: true },
  { to: '/jobs', label: 'Jobs', icon: IconList, end: false },
  { to: '/settings', label: 'Settings', icon: IconCog, end: false },
];

export function ThemeSwitch() {
  const [theme, setTheme] = useTheme();
  const options: { v: ThemeChoice; label: string; icon: typeof IconSun }[] = [
    { v: 'light', label: 'Light theme', icon: IconSun },
    { v: 'dark', label: 'Dark theme', icon: IconMoon },
    { v: 'system', label: 'System theme', icon: IconMonitor },
  ];
  return (
    <div role="radiogroup" aria-label="Theme" className="flex rounded-md p-0.5 ring-1 ring-slate-300 dark:ring-slate-700">
      {options.map((o) => (
        <button
          key={o.v}
          type="button"
          role="radio"
          aria-checked={theme === o.v}
          title={o.label}
          aria-label={o.label}
          onClick={() => setTheme(o.v)}
          className={cx(
            'rounded p-1 focus-visible:outline focus-visible:outline-2 focus-visible:outline-indigo-500',
            theme === o.v ? 'bg-slate-200 text-slate-900 dark:bg-slate-700 dark:text-white' : 'text-slate-500 hover:text-slate-800 dark:hover:text-slate-200',
          )}
        >
          <o.icon className="h-4 w-4" />
        </button>
      ))}
    </div>
  );
}

/** Follows GET /api/events and bumps a counter on every change, so pages re-fetch. */
function useDashboardEvents(): number {
  const [version, setVersion] = useState(0);
  useEffect(() => {
    if (typeof EventSource === 'undefined') return;
    const es = new EventSource('/api/events');
    let timer = 0;
    const bump = () => {
      window.clearTimeout(timer);
      timer = window.setTimeout(() => setVersion((v) => v + 1), 250);
    };
    for (const t of ['job_queued', 'job_started', 'job_finished', 'backup_added', 'backup_deleted', 'settings_changed', 'reload']) {
      es.addEventListener(t, bump);
    }
    es.onerror = () => {
      if (es.readyState === EventSource.CLOSED) window.clearTimeout(timer);
    };
    return () => {
      window.clearTimeout(timer);
      es.close();
    };
  }, []);
  return version;
}

export function Layout({ children }: { children: ReactNode }) {
  const { logout } = useAuth();
  const version = useDashboardEvents();
  return (
    <LiveContext.Provider value={version}>
      <div className="min-h-screen">
        <a href="#main" className="sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:z-50 focus:rounded focus:bg-white focus:px-3 focus:py-2 focus:text-sm focus:shadow dark:focus:bg-slate-800">
          Skip to content
        </a>
        <header className="sticky top-0 z-30 border-b border-slate-200 bg-white/90 backdrop-blur dark:border-slate-800 dark:bg-slate-900/90">
          <div className="mx-auto flex h-14 max-w-6xl items-center gap-4 px-4 sm:px-6">
            <NavLink to="/" className="flex items-center gap-2 font-semibold tracking-tight" aria-label="StackSnap home">
              <IconLogo />
              <span className="hidden sm:inline">StackSnap</span>
            </NavLink>
            <nav aria-label="Main" className="flex flex-1 items-center gap-1 overflow-x-auto">
              {NAV.map((n) => (
                <NavLink
                  key={n.to}
                  to={n.to}
                  end={n.end}
                  title={n.label}
                  className={({ isActive }) =>
                    cx(
                      'flex items-center gap-1.5 whitespace-nowrap rounded-md px-2.5 py-1.5 text-sm font-medium focus-visible:outline focus-visible:outline-2 focus-visible:outline-indigo-500',
                      isActive ? 'bg-slate-100 text-slate-900 dark:bg-slate-800 dark:text-white' : 'text-slate-600 hover:text-slate-900 dark:text-slate-400 dark:hover:text-white',
                    )
                  }
                >
                  <n.icon className="h-4 w-4" />
                  <span className="sr-only sm:not-sr-only">{n.label}</span>
                </NavLink>
              ))}
            </nav>
            <ThemeSwitch />
            <button
              type="button"
              onClick={logout}
              className="hidden rounded-md px-2 py-1.5 text-sm text-slate-600 hover:text-slate-900 focus-visible:outline focus-visible:outline-2 focus-visible:outline-indigo-500 dark:text-slate-400 dark:hover:text-white sm:block"
            >
              Sign out
            </button>
          </div>
        </header>
        <main id="main" className="mx-auto max-w-6xl px-4 py-6 sm:px-6 sm:py-8">
          {children}
        </main>
      </div>
    </LiveContext.Provider>
  );
}
