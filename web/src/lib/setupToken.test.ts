import { describe, expect, it } from 'vitest';
import { setupTokenFrom, withoutSetupToken } from './setupToken';

describe('setup token in the URL', () => {
  it('is read from the query string', () => {
    expect(setupTokenFrom('?setup_token=3f9c0a&x=1')).toBe('3f9c0a');
    expect(setupTokenFrom('?x=1')).toBe('');
    expect(setupTokenFrom('')).toBe('');
  });

  it('is removed from the address, the rest kept', () => {
    expect(withoutSetupToken({ search: '?setup_token=3f9c0a&x=1', pathname: '/', hash: '' })).toBe('/?x=1');
    expect(withoutSetupToken({ search: '?setup_token=3f9c0a', pathname: '/', hash: '#a' })).toBe('/#a');
    expect(withoutSetupToken({ search: '?x=1', pathname: '/settings', hash: '' })).toBeNull();
  });
});
