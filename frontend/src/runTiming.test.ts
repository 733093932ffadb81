import { describe, expect, it } from 'vitest';
import type { Run } from './api/types';
import { newestFirst, runDurationSeconds } from './runTiming';

function run(partial: Partial<Run>): Run {
  return {
    id: 'r',
    project: 'p',
    name: 'n',
    status: 'finished',
    config: {},
    metadata: {},
    created_at: '2024-03-10T10:00:00Z',
    updated_at: '2024-03-10T10:05:00Z',
    finished_at: null,
    last_step: null,
    health: { critical: 0, warning: 0, info: 0 },
    ...partial,
  };
}

describe('runDurationSeconds', () => {
  const now = Date.parse('2024-03-10T11:00:00Z');

  it('measures a running run up to now', () => {
    expect(runDurationSeconds(run({ status: 'running' }), now)).toBe(3600);
  });

  it('measures a finished run to finished_at, a crashed one to its last update', () => {
    expect(runDurationSeconds(run({ finished_at: '2024-03-10T10:02:00Z' }), now)).toBe(120);
    expect(runDurationSeconds(run({ status: 'crashed' }), now)).toBe(300);
  });
});

describe('newestFirst', () => {
  it('sorts by creation time, newest first, stable on ties', () => {
    const runs = [
      run({ id: 'b', created_at: '2024-03-10T10:00:00Z' }),
      run({ id: 'c', created_at: '2024-03-11T10:00:00Z' }),
      run({ id: 'a', created_at: '2024-03-10T10:00:00Z' }),
    ];
    expect(newestFirst(runs).map((r) => r.id)).toEqual(['c', 'a', 'b']);
  });
});
