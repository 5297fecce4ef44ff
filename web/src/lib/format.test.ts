import { describe, expect, it } from 'vitest';
import { computeEta, formatAgo, formatBytes, formatDuration, formatEta, formatRate, percent } from './format';

describe('formatBytes', () => {
  it.each([
    [0, '0 B'],
    [999, '999 B'],
    [1024, '1 KiB'],
    [1536, '1.5 KiB'],
    [10 * 1024 * 1024, '10 MiB'],
    [123.4 * 1024 * 1024, '123 MiB'],
    [1.25 * 1024 ** 3, '1.25 GiB'],
    [5 * 1024 ** 4, '5 TiB'],
  ])('%d → %s', (n, s) => expect(formatBytes(n)).toBe(s));
  it('handles missing and bad values', () => {
    expect(formatBytes(undefined)).toBe('—');
    expect(formatBytes(-1)).toBe('—');
    expect(formatBytes(NaN)).toBe('—');
  });
  it('formats rates', () => {
    expect(formatRate(52 * 1024 * 1024)).toBe('52 MiB/s');
    expect(formatRate(undefined)).toBe('—');
  });
});

describe('durations and ETA', () => {
  it.each([
    [0.4, '<1 s'],
    [42, '42 s'],
    [60, '1 min'],
    [125, '2 min 5 s'],
    [3720, '1 h 2 min'],
    [7200, '2 h'],
    [90000, '1 d 1 h'],
  ])('%d s → %s', (s, t) => expect(formatDuration(s)).toBe(t));

  it('prefers the server ETA, else computes it from the rate', () => {
    expect(computeEta(0, 100, 10, 3)).toBe(3);
    expect(computeEta(40, 100, 10)).toBe(6);
    expect(computeEta(40, undefined, 10)).toBeNull();
    expect(computeEta(40, 100, 0)).toBeNull();
    expect(computeEta(150, 100, 10)).toBe(0);
  });
  it('words the ETA', () => {
    expect(formatEta(null)).toBe('estimating…');
    expect(formatEta(0.2)).toBe('almost done');
    expect(formatEta(125)).toBe('2 min 5 s left');
  });
  it('percent is clamped and null without a total', () => {
    expect(percent(50, 200)).toBe(25);
    expect(percent(300, 200)).toBe(100);
    expect(percent(5, 0)).toBeNull();
    expect(percent(5, undefined)).toBeNull();
  });
});

describe('formatAgo', () => {
  const now = 1_764_101_850;
  it.each([
    [0, 'never'],
    [now - 10, 'just now'],
    [now - 300, '5 min ago'],
    [now - 3 * 3600, '3 h ago'],
    [now - 2 * 86400, '2 d ago'],
    [now + 3 * 3600, 'in 3 h'],
  ])('%d → %s', (t, s) => expect(formatAgo(t, now)).toBe(s));
});
