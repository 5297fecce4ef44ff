import { describe, expect, it } from 'vitest';
import { applyEvent, applyEvents, failedTargetsOf, failureReason, findingsOf, initialJobView, MAX_LOG_LINES, parseEventData, type JobEvent } from './jobEvents';

const ts = '2026-11-25T20:17:30.123Z';
const events: JobEvent[] = [
  { seq: 1, ts, type: 'step_started', step: 'plan', title: 'Plan the backup' },
  { seq: 2, ts, type: 'log', level: 'info', message: 'found 3 services', step: 'plan' },
  { seq: 3, ts, type: 'step_finished', step: 'plan', ok: true, duration_ms: 12 },
  { seq: 4, ts, type: 'step_started', step: 'capture', title: 'Copy volumes' },
  { seq: 5, ts, type: 'progress', step: 'capture', bytes_done: 1024, bytes_total: 4096, rate_bps: 512 },
  { seq: 6, ts, type: 'progress', step: 'capture', bytes_done: 2048, bytes_total: 4096, rate_bps: 512, eta_s: 4 },
];

describe('applyEvent', () => {
  it('builds the checklist, progress and log', () => {
    const v = applyEvents(initialJobView, events);
    expect(v.lastSeq).toBe(6);
    expect(v.steps.map((s) => [s.step, s.title, s.state])).toEqual([
      ['plan', 'Plan the backup', 'done'],
      ['capture', 'Copy volumes', 'running'],
    ]);
    expect(v.steps[0].durationMs).toBe(12);
    expect(v.progress).toEqual({ step: 'capture', bytesDone: 2048, bytesTotal: 4096, rateBps: 512, etaS: 4 });
    expect(v.log).toHaveLength(1);
    expect(v.log[0]).toMatchObject({ seq: 2, level: 'info', message: 'found 3 services' });
    expect(v.result).toBe('running');
  });

  it('ignores replayed events (reconnect with Last-Event-ID overlap)', () => {
    const once = applyEvents(initialJobView, events);
    const twice = applyEvents(once, events);
    expect(twice).toBe(once);
    const more = applyEvents(once, [...events.slice(3), { seq: 7, ts, type: 'log', level: 'warn', message: 'slow disk' }]);
    expect(more.log.map((l) => l.seq)).toEqual([2, 7]);
  });

  it('a new step clears the previous step’s bar; a finished step fills it', () => {
    let v = applyEvents(initialJobView, events);
    v = applyEvent(v, { seq: 7, type: 'step_finished', step: 'capture', ok: true, duration_ms: 900 });
    expect(v.progress).toMatchObject({ bytesDone: 4096, etaS: 0 });
    v = applyEvent(v, { seq: 8, type: 'step_started', step: 'upload', title: 'Upload' });
    expect(v.progress).toBeNull();
  });

  it('a success summary ends the job', () => {
    const v = applyEvents(initialJobView, [
      ...events,
      { seq: 7, type: 'step_finished', step: 'capture', ok: true },
      { seq: 8, type: 'summary', result: 'succeeded', backup_id: '20261125T201730Z-3fa2c1d0', stored_bytes: 4096 },
    ]);
    expect(v.result).toBe('succeeded');
    expect(v.summary).toEqual({ result: 'succeeded', backup_id: '20261125T201730Z-3fa2c1d0', stored_bytes: 4096 });
    expect(failureReason(v)).toBeNull();
  });

  it('a failure puts the reason first and fails open steps', () => {
    const v = applyEvents(initialJobView, [
      ...events,
      { seq: 7, type: 'error', code: 'Unavailable', message: 'upload to nas: connection refused' },
      { seq: 8, type: 'summary', result: 'failed', code: 'Unavailable', message: 'upload to nas: connection refused' },
    ]);
    expect(v.result).toBe('failed');
    expect(v.steps.find((s) => s.step === 'capture')?.state).toBe('failed');
    expect(failureReason(v)).toBe('upload to nas: connection refused');
  });

  it('failure reason falls back to the summary, then the last error line', () => {
    const a = applyEvents(initialJobView, [{ seq: 1, type: 'summary', result: 'failed', message: 'disk full' }]);
    expect(failureReason(a)).toBe('disk full');
    const b = applyEvents(initialJobView, [
      { seq: 1, type: 'log', level: 'error', message: 'pg_dump exited 1' },
      { seq: 2, type: 'summary', result: 'failed' },
    ]);
    expect(failureReason(b)).toBe('pg_dump exited 1');
    const c = applyEvents(initialJobView, [{ seq: 1, type: 'summary', result: 'cancelled' }]);
    expect(failureReason(c)).toBe('Cancelled');
  });

  it('caps the log and counts what it dropped', () => {
    const many: JobEvent[] = [];
    for (let i = 1; i <= MAX_LOG_LINES + 10; i++) many.push({ seq: i, type: 'log', level: 'debug', message: `line ${i}` });
    const v = applyEvents(initialJobView, many);
    expect(v.log).toHaveLength(MAX_LOG_LINES);
    expect(v.droppedLines).toBe(10);
    expect(v.log[0].message).toBe('line 11');
  });

  it('step_finished without a start still shows the step', () => {
    const v = applyEvent(initialJobView, { seq: 1, type: 'step_finished', step: 'pre_hooks', ok: false, detail: 'exit 2' });
    expect(v.steps).toEqual([{ step: 'pre_hooks', title: 'Pre hooks', state: 'failed', durationMs: undefined, detail: 'exit 2' }]);
  });
});

describe('parseEventData', () => {
  it('parses job events and rejects the rest', () => {
    expect(parseEventData('{"seq":1,"type":"log","level":"info","message":"x"}')).toMatchObject({ seq: 1, type: 'log' });
    expect(parseEventData('not json')).toBeNull();
    expect(parseEventData('{"reason":"x"}')).toBeNull();
  });
});

describe('partial jobs and findings', () => {
  it('a partial summary keeps finished steps and gives the failed targets as the reason', () => {
    const v = applyEvents(initialJobView, [
      { seq: 1, ts, type: 'step_finished', step: 'upload.local', ok: true, duration_ms: 5 },
      { seq: 2, ts, type: 'step_started', step: 'upload.offsite', title: 'Store on offsite' },
      { seq: 3, ts, type: 'step_finished', step: 'upload.offsite', ok: false, detail: 'connection refused' },
      {
        seq: 4, ts, type: 'summary', result: 'partial', backup_id: 'b1', code: 'Unavailable', message: 'failed on offsite: connection refused',
        failed_targets: [{ target: 'offsite', code: 'Unavailable', message: 'connection refused' }, { bogus: 1 }],
      },
    ]);
    expect(v.result).toBe('partial');
    expect(v.steps.map((s) => s.state)).toEqual(['done', 'failed']);
    expect(failureReason(v)).toBe('failed on offsite: connection refused');
    expect(failedTargetsOf(v.summary)).toEqual([{ target: 'offsite', code: 'Unavailable', message: 'connection refused' }]);
  });

  it('findings: problems and warnings warn, info informs, anything else is ignored', () => {
    expect(findingsOf({ problems: ['volume shop_appdata: 3 files fewer than the backup'], warnings: ['rows differ', 7, ''], info: ['cache: keys with a TTL'] })).toEqual({
      warnings: ['volume shop_appdata: 3 files fewer than the backup', 'rows differ'],
      info: ['cache: keys with a TTL'],
    });
    expect(findingsOf({ problems: 'not a list' })).toEqual({ warnings: [], info: [] });
    expect(findingsOf(null)).toEqual({ warnings: [], info: [] });
    expect(failedTargetsOf({ failed_targets: 'x' })).toEqual([]);
  });
});
