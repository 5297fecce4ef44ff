import { describe, expect, it } from 'vitest';
import { takeSetupToken } from './setupToken';

function fakeHistory() {
  const calls: string[] = [];
  return { calls, history: { state: null, replaceState: (_s: unknown, _t: string, url?: string | URL | null) => void calls.push(String(url)) } };
}

describe('takeSetupToken', () => {
  it('reads the token and removes it from the address bar', () => {
    const { calls, history } = fakeHistory();
    const token = takeSetupToken({ search: '?setup_token=3f9c0a&x=1', pathname: '/', hash: '' }, history);
    expect(token).toBe('3f9c0a');
    expect(calls).toEqual(['/?x=1']);
  });

  it('is empty without a token and leaves the URL alone', () => {
    const { calls, history } = fakeHistory();
    expect(takeSetupToken({ search: '', pathname: '/settings', hash: '#a' }, history)).toBe('');
    expect(calls).toEqual([]);
  });
});
