// Five-field cron expressions (minute hour day-of-month month day-of-week), as the server's
// scheduler takes them: numbers, ranges a-b, steps */n and a-b/n, lists, names (jan, mon),
// 7 = Sunday, and the macros @hourly @daily @midnight @weekly @monthly @yearly @annually.
// Used for the schedule editor's preview: a sentence and the next few run times.

export interface Cron {
  minutes: number[];
  hours: number[];
  days: number[]; // day of month 1..31
  months: number[]; // 1..12
  weekdays: number[]; // 0..6, Sunday = 0
  domStar: boolean;
  dowStar: boolean;
  fields: string[];
}

export type ParseResult = { ok: true; cron: Cron } | { ok: false; error: string };

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
export const WEEKDAY_NAMES = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTH_NAMES = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

const MACROS: Record<string, string> = {
  '@hourly': '0 * * * *',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@weekly': '0 0 * * 0',
  '@monthly': '0 0 1 * *',
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
};

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  names?: string[];
  nameBase?: number;
}

const SPECS: FieldSpec[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTHS, nameBase: 1 },
  { name: 'day of week', min: 0, max: 7, names: DAYS, nameBase: 0 },
];

function parseValue(s: string, spec: FieldSpec): number | null {
  if (/^\d+$/.test(s)) return Number(s);
  if (spec.names) {
    const i = spec.names.indexOf(s.toLowerCase());
    if (i >= 0) return i + (spec.nameBase ?? 0);
  }
  return null;
}

function parseField(text: string, spec: FieldSpec): number[] | string {
  const out = new Set<number>();
  for (const part of text.split(',')) {
    if (part === '') return `empty item in the ${spec.name} field`;
    const [rangePart, stepPart, extra] = part.split('/');
    if (extra !== undefined) return `"${part}" in the ${spec.name} field has two steps`;
    let step = 1;
    if (stepPart !== undefined) {
      if (!/^\d+$/.test(stepPart) || Number(stepPart) === 0) return `"${stepPart}" is not a valid step in the ${spec.name} field`;
      step = Number(stepPart);
    }
    let lo: number, hi: number;
    if (rangePart === '*') {
      lo = spec.min;
      hi = spec.max === 7 ? 6 : spec.max;
    } else {
      const bounds = rangePart.split('-');
      if (bounds.length > 2) return `"${rangePart}" is not a valid range in the ${spec.name} field`;
      const a = parseValue(bounds[0], spec);
      const b = bounds.length === 2 ? parseValue(bounds[1], spec) : a;
      if (a === null || b === null) return `"${rangePart}" is not a valid ${spec.name}`;
      lo = a;
      hi = bounds.length === 2 || stepPart === undefined ? b : spec.max === 7 ? 6 : spec.max;
      if (lo < spec.min || hi > spec.max || lo > spec.max) {
        return `${spec.name} must be between ${spec.min} and ${spec.max}`;
      }
      if (lo > hi) return `"${rangePart}": the range in the ${spec.name} field runs backwards`;
    }
    for (let v = lo; v <= hi; v += step) out.add(spec.max === 7 && v === 7 ? 0 : v);
  }
  return [...out].sort((x, y) => x - y);
}

export function parseCron(expr: string): ParseResult {
  let text = expr.trim().replace(/\s+/g, ' ');
  if (text === '') return { ok: false, error: 'enter a cron expression, e.g. "30 2 * * *"' };
  if (text.startsWith('@')) {
    const m = MACROS[text.toLowerCase()];
    if (!m) return { ok: false, error: `unknown macro ${text}` };
    text = m;
  }
  const fields = text.split(' ');
  if (fields.length !== 5) {
    return { ok: false, error: `a cron expression has 5 fields (minute hour day month weekday), this one has ${fields.length}` };
  }
  const parsed: number[][] = [];
  for (let i = 0; i < 5; i++) {
    const r = parseField(fields[i], SPECS[i]);
    if (typeof r === 'string') return { ok: false, error: r };
    parsed.push(r);
  }
  return {
    ok: true,
    cron: {
      minutes: parsed[0],
      hours: parsed[1],
      days: parsed[2],
      months: parsed[3],
      weekdays: parsed[4],
      domStar: fields[2] === '*' || fields[2] === '*/1',
      dowStar: fields[4] === '*' || fields[4] === '*/1',
      fields,
    },
  };
}

const pad = (n: number) => String(n).padStart(2, '0');

function isFull(values: number[], min: number, max: number): boolean {
  return values.length === max - min + 1;
}

/** "every 15 minutes" detection: values are min, min+s, min+2s … covering the range. */
function uniformStep(values: number[], min: number, max: number): number | null {
  if (values.length < 2 || values[0] !== min) return null;
  const s = values[1] - values[0];
  for (let i = 1; i < values.length; i++) if (values[i] - values[i - 1] !== s) return null;
  return values[values.length - 1] + s > max ? s : null;
}

function listWords(items: string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

function contiguous(values: number[]): boolean {
  for (let i = 1; i < values.length; i++) if (values[i] !== values[i - 1] + 1) return false;
  return values.length > 1;
}

function describeWeekdays(w: number[]): string {
  if (w.length === 5 && contiguous(w) && w[0] === 1) return 'Monday to Friday';
  if (w.length === 2 && w[0] === 0 && w[1] === 6) return 'Saturday and Sunday';
  if (contiguous(w) && w.length > 2) return `${WEEKDAY_NAMES[w[0]]} to ${WEEKDAY_NAMES[w[w.length - 1]]}`;
  return listWords(w.map((d) => WEEKDAY_NAMES[d]));
}

function ordinal(n: number): string {
  const s = n % 100 >= 11 && n % 100 <= 13 ? 'th' : ({ 1: 'st', 2: 'nd', 3: 'rd' } as Record<number, string>)[n % 10] ?? 'th';
  return `${n}${s}`;
}

/** A sentence for people: "Every day at 02:30", "Every 15 minutes", "Mondays at 03:00". */
export function describeCron(c: Cron): string {
  const allMin = isFull(c.minutes, 0, 59);
  const allHour = isFull(c.hours, 0, 23);
  const minStep = uniformStep(c.minutes, 0, 59);
  const hourStep = uniformStep(c.hours, 0, 23);

  let time: string;
  if (allMin && allHour) time = 'every minute';
  else if (minStep && allHour) time = `every ${minStep} minutes`;
  else if (allHour && c.minutes.length === 1) time = c.minutes[0] === 0 ? 'every hour on the hour' : `every hour at minute ${c.minutes[0]}`;
  else if (allHour) time = `every hour at minutes ${listWords(c.minutes.map(String))}`;
  else if (hourStep && c.minutes.length === 1) time = `every ${hourStep} hours at minute ${c.minutes[0]}`;
  else if (allMin) time = `every minute during hour${c.hours.length > 1 ? 's' : ''} ${listWords(c.hours.map(pad))}`;
  else if (c.hours.length * c.minutes.length <= 6) {
    const times: string[] = [];
    for (const h of c.hours) for (const m of c.minutes) times.push(`${pad(h)}:${pad(m)}`);
    time = `at ${listWords(times)}`;
  } else time = `at minute ${listWords(c.minutes.map(String))} of hours ${listWords(c.hours.map(pad))}`;

  const parts: string[] = [];
  const allMonths = isFull(c.months, 1, 12);
  if (c.domStar && c.dowStar) {
    parts.push(time.startsWith('every') ? capitalize(time) : `Every day ${time}`);
  } else {
    const dayParts: string[] = [];
    if (!c.domStar) dayParts.push(`on the ${listWords(c.days.map(ordinal))}${allMonths ? ' of every month' : ''}`);
    if (!c.dowStar) dayParts.push(`${c.domStar ? 'on ' : ''}${describeWeekdays(c.weekdays)}`);
    const days = dayParts.join(' or on ');
    parts.push(capitalize(`${days} ${time}`.trim()));
  }
  if (!allMonths) parts.push(`in ${listWords(c.months.map((m) => MONTH_NAMES[m - 1]))}`);
  return parts.join(', ');
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

// --- next run times ---------------------------------------------------------------------

interface Wall {
  y: number;
  mo: number; // 1..12
  d: number;
  h: number;
  mi: number;
}

const partsCache = new Map<string, Intl.DateTimeFormat>();

function formatter(tz: string): Intl.DateTimeFormat {
  let f = partsCache.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
    });
    partsCache.set(tz, f);
  }
  return f;
}

/** True when `tz` is an IANA zone this browser knows. */
export function isValidTimeZone(tz: string): boolean {
  try {
    formatter(tz);
    return true;
  } catch {
    return false;
  }
}

function wallAt(ms: number, tz: string): Wall {
  const p: Record<string, number> = {};
  for (const x of formatter(tz).formatToParts(new Date(ms))) if (x.type !== 'literal') p[x.type] = Number(x.value);
  return { y: p.year, mo: p.month, d: p.day, h: p.hour % 24, mi: p.minute };
}

function wallAsUtc(w: Wall): number {
  return Date.UTC(w.y, w.mo - 1, w.d, w.h, w.mi);
}

/** The instant at which wall time `w` happens in `tz`; null when the wall time is skipped (DST gap). */
function instantOf(w: Wall, tz: string): number | null {
  const guess = wallAsUtc(w);
  // Two passes of offset correction settle for every real zone.
  let t = guess;
  for (let i = 0; i < 2; i++) {
    const off = wallAsUtc(wallAt(t, tz)) - t;
    t = guess - off;
  }
  const back = wallAt(t, tz);
  if (back.y !== w.y || back.mo !== w.mo || back.d !== w.d || back.h !== w.h || back.mi !== w.mi) return null;
  // Ambiguous (DST fall-back): take the earlier instant, like most cron daemons.
  const earlier = t - 3600_000;
  const e = wallAt(earlier, tz);
  if (e.y === w.y && e.mo === w.mo && e.d === w.d && e.h === w.h && e.mi === w.mi) return earlier;
  return t;
}

function dayMatches(c: Cron, y: number, mo: number, d: number): boolean {
  const dow = new Date(Date.UTC(y, mo - 1, d)).getUTCDay();
  const domOk = c.days.includes(d);
  const dowOk = c.weekdays.includes(dow);
  if (c.domStar && c.dowStar) return true;
  if (c.domStar) return dowOk;
  if (c.dowStar) return domOk;
  return domOk || dowOk; // both restricted: either matches (classic cron)
}

function daysInMonth(y: number, mo: number): number {
  return new Date(Date.UTC(y, mo, 0)).getUTCDate();
}

/**
 * The next `count` run times (unix ms) strictly after `fromMs`, in time zone `tz`.
 * Wall times skipped by a DST change are skipped. Looks at most 5 years ahead.
 */
export function nextRuns(c: Cron, fromMs: number, count: number, tz = 'UTC'): number[] {
  const out: number[] = [];
  const start = wallAt(fromMs, tz);
  let y = start.y,
    mo = start.mo,
    d = start.d;
  const lastYear = start.y + 5;
  let first = true;
  while (out.length < count && y <= lastYear) {
    if (!c.months.includes(mo)) {
      mo++;
      d = 1;
      first = false;
      if (mo > 12) {
        mo = 1;
        y++;
      }
      continue;
    }
    if (d > daysInMonth(y, mo)) {
      mo++;
      d = 1;
      first = false;
      if (mo > 12) {
        mo = 1;
        y++;
      }
      continue;
    }
    if (dayMatches(c, y, mo, d)) {
      for (const h of c.hours) {
        if (first && h < start.h) continue;
        for (const mi of c.minutes) {
          if (first && h === start.h && mi <= start.mi) continue;
          const t = instantOf({ y, mo, d, h, mi }, tz);
          if (t !== null && t > fromMs && !out.includes(t)) out.push(t);
          if (out.length >= count) return out;
        }
      }
    }
    first = false;
    d++;
  }
  return out;
}

export interface CronPreview {
  ok: boolean;
  description: string;
  error?: string;
  next: number[];
}

export function previewCron(expr: string, tz: string, fromMs = Date.now(), count = 3): CronPreview {
  const r = parseCron(expr);
  if (!r.ok) return { ok: false, description: '', error: r.error, next: [] };
  if (!isValidTimeZone(tz)) return { ok: false, description: describeCron(r.cron), error: `unknown time zone "${tz}"`, next: [] };
  return { ok: true, description: describeCron(r.cron), next: nextRuns(r.cron, fromMs, count, tz) };
}
