// A small password/passphrase strength estimate for the meter: entropy from the character
// classes used and the length, penalised for repeats, sequences and very common choices.
// Good enough to steer people toward long passphrases; the server enforces the minimums.

export interface Strength {
  score: 0 | 1 | 2 | 3 | 4;
  label: 'Too short' | 'Weak' | 'Fair' | 'Good' | 'Strong';
  bits: number;
  hint: string;
}

const COMMON = ['password', '123456', 'qwerty', 'letmein', 'admin', 'welcome', 'iloveyou', 'monkey', 'dragon', 'stacksnap', 'backup', 'secret'];

export function estimateBits(pw: string): number {
  if (!pw) return 0;
  let pool = 0;
  if (/[a-z]/.test(pw)) pool += 26;
  if (/[A-Z]/.test(pw)) pool += 26;
  if (/[0-9]/.test(pw)) pool += 10;
  if (/[^a-zA-Z0-9]/.test(pw)) pool += 33;
  // Count characters that add information: repeats and straight sequences add little.
  let effective = 0;
  for (let i = 0; i < pw.length; i++) {
    const c = pw.charCodeAt(i);
    const p = i > 0 ? pw.charCodeAt(i - 1) : NaN;
    if (c === p) effective += 0.25;
    else if (c === p + 1 || c === p - 1) effective += 0.5;
    else effective += 1;
  }
  let bits = effective * Math.log2(Math.max(pool, 2));
  const lower = pw.toLowerCase();
  for (const w of COMMON) {
    if (lower.includes(w)) bits -= w.length * 3;
  }
  return Math.max(0, Math.round(bits));
}

export function passwordStrength(pw: string, minLength: number): Strength {
  const bits = estimateBits(pw);
  if (pw.length < minLength) {
    return { score: 0, label: 'Too short', bits, hint: `Use at least ${minLength} characters.` };
  }
  if (bits < 40) return { score: 1, label: 'Weak', bits, hint: 'Add more words or characters; avoid common words and patterns.' };
  if (bits < 60) return { score: 2, label: 'Fair', bits, hint: 'Longer is better: four or five random words work well.' };
  if (bits < 80) return { score: 3, label: 'Good', bits, hint: 'A good choice. Store it in a password manager.' };
  return { score: 4, label: 'Strong', bits, hint: 'Excellent. Store it in a password manager.' };
}
