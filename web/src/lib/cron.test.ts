import { describe, expect, it } from 'vitest';
import { describeCron, nextRuns, parseCron, previewCron } from './cron';

function describe_(expr: string): string {
  const r = parseCron(expr);
  if (!r.ok) throw new Error(r.error);
  return describeCron(r.cron);
}

describe('parseCron', () => {
  it('accepts the usual forms', () => {
    for (const e of ['* * * * *', '*/15 * * * *', '0 3 * * 1-5', '0 0 1,15 * *', '30 2 * jan-mar mon', '5/10 * * * *', '@daily', '0 0 * * 7']) {
      expect(parseCron(e).ok, e).toBe(true);
    }
  });
  it('names the bad field', () => {
    const r = parseCron('61 * * * *');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(/minute/);
    const h = parseCron('0 24 * * *');
    expect(!h.ok && h.error).toMatch(/hour/);
    const f = parseCron('0 3 * *');
    expect(!f.ok && f.error).toMatch(/5 fields.*4/);
    expect(parseCron('*/0 * * * *').ok).toBe(false);
    expect(parseCron('5-1 * * * *').ok).toBe(false);
    expect(parseCron('@sometimes').ok).toBe(false);
    expect(parseCron('').ok).toBe(false);
  });
  it('treats 7 as Sunday', () => {
    const r = parseCron('0 0 * * 7');
    expect(r.ok && r.cron.weekdays).toEqual([0]);
  });
});

describe('describeCron', () => {
  it.each([
    ['* * * * *', 'Every minute'],
    ['*/15 * * * *', 'Every 15 minutes'],
    ['0 * * * *', 'Every hour on the hour'],
    ['30 2 * * *', 'Every day at 02:30'],
    ['@daily', 'Every day at 00:00'],
    ['0 3 * * 0', 'On Sunday at 03:00'],
    ['0 3 * * 1-5', 'On Monday to Friday at 03:00'],
    ['0 3 * * 6,0', 'On Saturday and Sunday at 03:00'],
    ['0 4 1 * *', 'On the 1st of every month at 04:00'],
    ['0 */6 * * *', 'Every 6 hours at minute 0'],
    ['0 9,17 * * *', 'Every day at 09:00 and 17:00'],
    ['0 0 1 1 *', 'On the 1st at 00:00, in January'],
  ])('%s → %s', (expr, text) => {
    expect(describe_(expr)).toBe(text);
  });
});

describe('nextRuns', () => {
  const from = Date.UTC(2026, 10, 25, 20, 17); // Wed 2026-11-25 20:17 UTC
  const iso = (ms: number[]) => ms.map((t) => new Date(t).toISOString());

  it('daily in UTC', () => {
    const r = parseCron('30 2 * * *');
    expect(r.ok && iso(nextRuns(r.cron, from, 2))).toEqual(['2026-11-26T02:30:00.000Z', '2026-11-27T02:30:00.000Z']);
  });
  it('later the same day, strictly after now', () => {
    const r = parseCron('17,45 20 * * *');
    expect(r.ok && iso(nextRuns(r.cron, from, 2))).toEqual(['2026-11-25T20:45:00.000Z', '2026-11-26T20:17:00.000Z']);
  });
  it('weekdays and month ends', () => {
    const sun = parseCron('0 3 * * 0');
    expect(sun.ok && iso(nextRuns(sun.cron, from, 1))).toEqual(['2026-11-29T03:00:00.000Z']);
    const d31 = parseCron('0 0 31 * *');
    expect(d31.ok && iso(nextRuns(d31.cron, from, 2))).toEqual(['2026-12-31T00:00:00.000Z', '2027-01-31T00:00:00.000Z']);
  });
  it('day-of-month or day-of-week when both are restricted', () => {
    const r = parseCron('0 0 1 * 1'); // the 1st, or any Monday
    expect(r.ok && iso(nextRuns(r.cron, from, 2))).toEqual(['2026-11-30T00:00:00.000Z', '2026-12-01T00:00:00.000Z']);
  });
  it('in a time zone with DST', () => {
    const r = parseCron('0 3 * * *');
    // Europe/Berlin is UTC+1 in November, UTC+2 in summer.
    expect(r.ok && iso(nextRuns(r.cron, from, 1, 'Europe/Berlin'))).toEqual(['2026-11-26T02:00:00.000Z']);
    const summer = Date.UTC(2026, 6, 1, 12, 0);
    expect(r.ok && iso(nextRuns(r.cron, summer, 1, 'Europe/Berlin'))).toEqual(['2026-07-02T01:00:00.000Z']);
  });
  it('skips a wall time that does not exist (spring forward)', () => {
    const r = parseCron('30 2 * * *');
    const before = Date.UTC(2026, 2, 28, 12, 0); // 2026-03-29 02:30 does not exist in Berlin
    expect(r.ok && iso(nextRuns(r.cron, before, 2, 'Europe/Berlin'))).toEqual(['2026-03-30T00:30:00.000Z', '2026-03-31T00:30:00.000Z']);
  });
  it('a date that never comes gives nothing rather than looping', () => {
    const r = parseCron('0 0 31 2 *');
    expect(r.ok && nextRuns(r.cron, from, 1)).toEqual([]);
  });
});

describe('previewCron', () => {
  it('reports an unknown zone', () => {
    const p = previewCron('0 3 * * *', 'Mars/Olympus');
    expect(p.ok).toBe(false);
    expect(p.error).toMatch(/time zone/);
  });
  it('gives three next runs by default', () => {
    expect(previewCron('@hourly', 'UTC', Date.UTC(2026, 0, 1, 0, 0)).next).toHaveLength(3);
  });
});
