// Follows one job's SSE stream. EventSource reconnects by itself and sends Last-Event-ID,
// so the server replays exactly what was missed; the reducer also drops any seq it has
// already applied. The stream is closed after the summary event (the server closes a
// finished job's stream, and an EventSource would otherwise reconnect forever).
import { useEffect, useReducer, useRef, useState } from 'react';
import { applyEvent, initialJobView, parseEventData, type JobEvent, type JobView } from '../lib/jobEvents';

export type StreamStatus = 'connecting' | 'live' | 'reconnecting' | 'closed' | 'error';

const EVENT_TYPES = ['step_started', 'step_finished', 'progress', 'log', 'error', 'summary'] as const;

type Action = { kind: 'event'; ev: JobEvent } | { kind: 'reset' };

function reducer(state: JobView, a: Action): JobView {
  if (a.kind === 'reset') return initialJobView;
  return applyEvent(state, a.ev);
}

export function useJobStream(jobId: number | null, onReload?: () => void): { view: JobView; status: StreamStatus; reconnects: number } {
  const [view, dispatch] = useReducer(reducer, initialJobView);
  const [status, setStatus] = useState<StreamStatus>('connecting');
  const [reconnects, setReconnects] = useState(0);
  const [generation, setGeneration] = useState(0);
  const reloadRef = useRef(onReload);
  reloadRef.current = onReload;

  useEffect(() => {
    if (jobId === null) return;
    dispatch({ kind: 'reset' });
    setStatus('connecting');
    const es = new EventSource(`/api/jobs/${jobId}/events`);
    let done = false;
    let opened = false;
    const handle = (msg: MessageEvent<string>) => {
      const ev = parseEventData(msg.data);
      if (!ev) return;
      if (typeof ev.seq !== 'number' && msg.lastEventId) ev.seq = Number(msg.lastEventId);
      dispatch({ kind: 'event', ev });
      if (ev.type === 'summary') {
        done = true;
        es.close();
        setStatus('closed');
      }
    };
    for (const t of EVENT_TYPES) es.addEventListener(t, handle as EventListener);
    es.onmessage = handle; // events without an `event:` line
    es.addEventListener('reload', () => {
      // This client fell too far behind: start over from the first event.
      es.close();
      reloadRef.current?.();
      setGeneration((g) => g + 1);
    });
    es.onopen = () => {
      if (opened) setReconnects((n) => n + 1);
      opened = true;
      setStatus('live');
    };
    es.onerror = () => {
      if (done) return;
      if (es.readyState === EventSource.CLOSED) setStatus('error');
      else setStatus('reconnecting');
    };
    return () => {
      done = true;
      es.close();
    };
  }, [jobId, generation]);

  return { view, status, reconnects };
}
