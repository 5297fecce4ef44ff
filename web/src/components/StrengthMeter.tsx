import { passwordStrength } from '../lib/password';
import { cx } from './ui';

const COLORS = ['bg-red-500', 'bg-red-500', 'bg-amber-500', 'bg-lime-500', 'bg-emerald-500'];

export function StrengthMeter({ value, minLength, id }: { value: string; minLength: number; id?: string }) {
  const s = passwordStrength(value, minLength);
  return (
    <div id={id} className="space-y-1" aria-live="polite">
      <div className="flex gap-1" aria-hidden>
        {[1, 2, 3, 4].map((i) => (
          <div key={i} className={cx('h-1.5 flex-1 rounded-full', value && s.score >= i ? COLORS[s.score] : value && i === 1 && s.score === 0 ? 'bg-red-500' : 'bg-slate-200 dark:bg-slate-700')} />
        ))}
      </div>
      <p className="text-xs text-slate-600 dark:text-slate-400">
        {value ? (
          <>
            <span className="font-medium">Strength: {s.label}.</span> {s.hint}
          </>
        ) : (
          `At least ${minLength} characters. Several random words make a strong, memorable passphrase.`
        )}
      </p>
    </div>
  );
}
