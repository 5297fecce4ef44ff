// Folds a job's typed events (docs/API.md, src/job/events.h) into what the job view shows:
// the step checklist, the current progress, the log, the error and the final summary.
// Events are applied in seq order; anything at or below the last applied seq is ignored,
// so a replay after a reconnect never duplicates lines.

export type JobEvent =
  | ({ type: 'step_started'; step: string; title?: string } & Base)
  | ({ type: 'step_finished'; step: string; ok: boolean; duration_ms?: number; detail?: string } & Base)
  | ({ type: 'progress'; step?: string; bytes_done: number; bytes_total?: number; rate_bps?: number; eta_s?: number } & Base)
  | ({ type: 'log'; level: 'debug' | 'info' | 'warn' | 'error'; message: string; step?: string } & Base)
  | ({ type: 'error'; code: string; message: string } & Base)
  | ({ type: 'summary'; result: 'succeeded' | 'partial' | 'failed' | 'cancelled'; [k: string]: unknown } & Base);

interface Base {
  seq: number;
  ts?: string;
}

export type StepState = 'running' | 'done' | 'failed';

export interface Step {
  step: string;
  title: string;
  state: StepState;
  durationMs?: number;
  detail?: string;
}

export interface LogLine {
  seq: number;
  ts?: string;
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
  step?: string;
}

export interface Progress {
  step?: string;
  bytesDone: number;
  bytesTotal?: number;
  rateBps?: number;
  etaS?: number;
}

/** partial: the work was done, but not on every target it was asked for (failed_targets). */
export type JobResult = 'running' | 'succeeded' | 'partial' | 'failed' | 'cancelled';

export interface JobView {
  lastSeq: number;
  steps: Step[];
  progress: Progress | null;
  log: LogLine[];
  droppedLines: number;
  error: { code: string; message: string } | null;
  summary: Record<string, unknown> | null;
  result: JobResult;
}

export const MAX_LOG_LINES = 5000;

export const initialJobView: JobView = {
  lastSeq: 0,
  steps: [],
  progress: null,
  log: [],
  droppedLines: 0,
  error: null,
  summary: null,
  result: 'running',
};

function titleFor(step: string): string {
  const t = step.replace(/[_-]+/g, ' ').trim();
  return t.charAt(0).toUpperCase() + t.slice(1);
}

export function applyEvent(state: JobView, ev: JobEvent): JobView {
  if (typeof ev.seq === 'number' && ev.seq > 0 && ev.seq <= state.lastSeq) return state;
  const next: JobView = { ...state, lastSeq: typeof ev.seq === 'number' && ev.seq > 0 ? ev.seq : state.lastSeq };
  switch (ev.type) {
    case 'step_started': {
      const steps = state.steps.filter((s) => s.step !== ev.step);
      steps.push({ step: ev.step, title: ev.title || titleFor(ev.step), state: 'running' });
      next.steps = steps;
      // Progress belongs to one step: a new step starts without a bar until it reports.
      if (state.progress && state.progress.step !== ev.step) next.progress = null;
      break;
    }
    case 'step_finished': {
      let found = false;
      next.steps = state.steps.map((s) => {
        if (s.step !== ev.step) return s;
        found = true;
        return { ...s, state: ev.ok ? 'done' : 'failed', durationMs: ev.duration_ms, detail: ev.detail || undefined };
      });
      if (!found) {
        next.steps = [...state.steps, { step: ev.step, title: titleFor(ev.step), state: ev.ok ? 'done' : 'failed', durationMs: ev.duration_ms, detail: ev.detail || undefined }];
      }
      if (state.progress?.step === ev.step) {
        const p = state.progress;
        next.progress = ev.ok && p.bytesTotal ? { ...p, bytesDone: p.bytesTotal, etaS: 0 } : p;
      }
      break;
    }
    case 'progress':
      next.progress = {
        step: ev.step,
        bytesDone: ev.bytes_done ?? 0,
        bytesTotal: ev.bytes_total ?? undefined,
        rateBps: ev.rate_bps ?? undefined,
        etaS: ev.eta_s ?? undefined,
      };
      break;
    case 'log': {
      const line: LogLine = { seq: ev.seq, ts: ev.ts, level: ev.level ?? 'info', message: ev.message ?? '', step: ev.step };
      let log = [...state.log, line];
      let dropped = state.droppedLines;
      if (log.length > MAX_LOG_LINES) {
        dropped += log.length - MAX_LOG_LINES;
        log = log.slice(log.length - MAX_LOG_LINES);
      }
      next.log = log;
      next.droppedLines = dropped;
      break;
    }
    case 'error':
      next.error = { code: ev.code, message: ev.message };
      break;
    case 'summary': {
      const { seq: _s, ts: _t, type: _ty, ...rest } = ev;
      void _s;
      void _t;
      void _ty;
      next.summary = rest;
      next.result = ev.result ?? 'failed';
      // Steps still open when the job ended did not finish.
      if (next.result !== 'succeeded' && next.result !== 'partial') {
        next.steps = state.steps.map((s) => (s.state === 'running' ? { ...s, state: 'failed' } : s));
      }
      break;
    }
    default:
      return state;
  }
  return next;
}

export function applyEvents(state: JobView, events: JobEvent[]): JobView {
  return events.reduce(applyEvent, state);
}

/** The reason a failed job failed, for the headline: the error event, else the summary's. */
export function failureReason(v: JobView): string | null {
  if (v.result === 'succeeded' || v.result === 'running') return null;
  if (v.error?.message) return v.error.message;
  const s = v.summary ?? {};
  for (const k of ['message', 'error', 'reason']) if (typeof s[k] === 'string' && s[k]) return s[k] as string;
  const lastErr = [...v.log].reverse().find((l) => l.level === 'error');
  return lastErr?.message ?? (v.result === 'cancelled' ? 'Cancelled' : null);
}

export interface Findings {
  /** The summary's `problems` and `warnings`: shown as warnings. */
  warnings: string[];
  /** The summary's `info`: shown as notes. */
  info: string[];
}

/**
 * What a finished job wants the reader to know beyond its result, from any job's summary:
 * the strings under `problems`, `warnings` and `info` (restore and drill checks, …).
 * Anything that is not an array of strings is ignored.
 */
export function findingsOf(summary: Record<string, unknown> | null | undefined): Findings {
  const strings = (k: string): string[] => {
    const v = summary?.[k];
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string' && x.length > 0) : [];
  };
  return { warnings: [...strings('problems'), ...strings('warnings')], info: strings('info') };
}

/** A summary's failed targets ([{target, code, message}]), for a partial job. */
export function failedTargetsOf(summary: Record<string, unknown> | null | undefined): { target: string; code?: string; message: string }[] {
  const v = summary?.failed_targets;
  if (!Array.isArray(v)) return [];
  return v
    .filter((x): x is Record<string, unknown> => !!x && typeof x === 'object' && typeof (x as Record<string, unknown>).target === 'string')
    .map((x) => ({ target: x.target as string, code: typeof x.code === 'string' ? x.code : undefined, message: typeof x.message === 'string' ? x.message : '' }));
}

/** Parses one SSE data payload; null for anything that is not a job event. */
export function parseEventData(data: string): JobEvent | null {
  try {
    const v = JSON.parse(data);
    if (v && typeof v === 'object' && typeof v.type === 'string') return v as JobEvent;
  } catch {
    /* not JSON */
  }
  return null;
}
