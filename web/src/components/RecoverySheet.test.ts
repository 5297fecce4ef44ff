import { describe, expect, it } from 'vitest';
import type { Target } from '../api/types';
import { recoveryCommands } from './RecoverySheet';

describe('recoveryCommands', () => {
  it('names the first target without its secret', () => {
    const t: Target = { name: 'offsite', kind: 's3', created_at: 0, config: { endpoint: 'https://s3.example.com', bucket: 'b', prefix: 'host1', region: 'eu', access_key: 'AK', secret_key_set: true } };
    const c = recoveryCommands([t]);
    expect(c).toHaveLength(3);
    expect(c[0]).toBe('stacksnap key import recovery-key.txt');
    expect(c[1]).toContain('--endpoint https://s3.example.com --bucket b --prefix host1');
    expect(c[1]).toContain('--secret-key-file FILE');
    expect(c[2]).toContain('stacksnap restore');
  });
  it('has a placeholder without targets and a local form', () => {
    expect(recoveryCommands([])[1]).toContain('target add s3 NAME');
    expect(recoveryCommands([{ name: 'nas', kind: 'local', created_at: 0, config: { path: '/srv/b' } }])[1]).toBe('stacksnap target add local nas --path /srv/b');
  });
});
