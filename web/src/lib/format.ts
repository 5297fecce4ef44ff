// Formatting of sizes, rates, durations and times for people.

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** 0 → "0 B", 1536 → "1.5 KiB", 10 * 2**20 → "10 MiB". Negative or non-finite → "—". */
export function formatBytes(n: number | null | undefined): string {
  if (n == null || !Number.isFinite(n) || n < 0) return '—';
  let i = 0;
  let v = n;
  while (v >= 1024 && i < UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  if (i === 0) return `${Math.round(v)} B`;
  const digits = v >= 100 ? 0 : v >= 10 ? 1 : 2;
  return `${trimZeros(v.toFixed(digits))} ${UNITS[i]}`;
}

function trimZeros(s: string): string {
  return s.includes('.') ? s.replace(/\.?0+$/, '') : s;
}

/** Bytes per second → "12 MiB/s". */
export function formatRate(bps: number | null | undefined): string {
  if (bps == null || !Number.isFinite(bps) || bps < 0) return '—';
  return `${formatBytes(bps)}/s`;
}

/**
 * A duration in seconds, compact: 0.4 → "<1 s", 42 → "42 s", 125 → "2 min 5 s",
 * 3720 → "1 h 2 min", 90000 → "1 d 1 h".
 */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds == null || !Number.isFinite(seconds) || seconds < 0) return '—';
  if (seconds < 1) return '<1 s';
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) {
    const rs = s % 60;
    return rs ? `${m} min ${rs} s` : `${m} min`;
  }
  const h = Math.floor(m / 60);
  if (h < 24) {
    const rm = m % 60;
    return rm ? `${h} h ${rm} min` : `${h} h`;
  }
  const d = Math.floor(h / 24);
  const rh = h % 24;
  return rh ? `${d} d ${rh} h` : `${d} d`;
}

export function formatDurationMs(ms: number | null | undefined): string {
  if (ms == null) return '—';
  return formatDuration(ms / 1000);
}

/**
 * Remaining time: the server's eta_s when given, else computed from the rate.
 * Unknown (no total, no rate) → null.
 */
export function computeEta(done: number, total: number | undefined, rateBps: number | undefined, etaS?: number): number | null {
  if (etaS != null && Number.isFinite(etaS) && etaS >= 0) return etaS;
  if (!total || total <= 0 || !rateBps || rateBps <= 0) return null;
  const left = Math.max(0, total - done);
  return left / rateBps;
}

export function formatEta(seconds: number | null): string {
  if (seconds == null) return 'estimating…';
  if (seconds < 1) return 'almost done';
  return `${formatDuration(seconds)} left`;
}

/** Percentage 0..100 (integer), or null when the total is unknown. */
export function percent(done: number, total: number | undefined | null): number | null {
  if (!total || total <= 0) return null;
  return Math.max(0, Math.min(100, Math.floor((done / total) * 100)));
}

/**
 * A unix time (seconds) relative to `now` (seconds): "just now", "5 min ago", "in 3 h",
 * "2 d ago". 0/undefined → "never".
 */
export function formatAgo(unix: number | null | undefined, now: number = Date.now() / 1000): string {
  if (!unix) return 'never';
  const diff = now - unix;
  const abs = Math.abs(diff);
  if (abs < 45) return diff >= 0 ? 'just now' : 'in a moment';
  let text: string;
  if (abs < 3600) text = `${Math.round(abs / 60)} min`;
  else if (abs < 86400) text = `${Math.round(abs / 3600)} h`;
  else text = `${Math.round(abs / 86400)} d`;
  return diff >= 0 ? `${text} ago` : `in ${text}`;
}

/** A unix time as local date + time, e.g. "2026-11-25 20:17". */
export function formatDateTime(unix: number | null | undefined): string {
  if (!unix) return '—';
  const d = new Date(unix * 1000);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** "HH:MM:SS" from an RFC 3339 event timestamp, in local time. */
export function formatClock(ts: string | undefined): string {
  if (!ts) return '';
  const d = new Date(ts);
  if (Number.isNaN(d.getTime())) return '';
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
