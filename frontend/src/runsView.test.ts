import { describe, expect, it } from 'vitest';
import type { Run } from './api/types';
import { DEFAULT_RUNS_VIEW, matchesHealth, parseRunsView, projectsOf, serializeRunsView, sortRuns } from './runsView';

function run(partial: Partial<Run> & Pick<Run, 'id'>): Run {
  return {
    project: 'p',
    name: partial.id,
    status: 'finished',
    config: {},
    metadata: {},
    created_at: '2024-01-01T00:00:00Z',
    updated_at: '2024-01-01T00:00:00Z',
    finished_at: null,
    last_step: 0,
    health: { critical: 0, warning: 0, info: 0 },
    ...partial,
  };
}

describe('runs view in the URL', () => {
  it('round-trips and leaves defaults out', () => {
    const view = { q: 'gpt', project: 'llm', status: 'running' as const, health: 'critical' as const, sort: 'step' as const, desc: false };
    const params = serializeRunsView(view);
    expect(params.toString()).toBe('q=gpt&project=llm&status=running&health=critical&sort=step&dir=asc');
    expect(parseRunsView(params)).toEqual(view);
    expect(serializeRunsView(DEFAULT_RUNS_VIEW).toString()).toBe('');
  });

  it('ignores unknown values', () => {
    expect(parseRunsView(new URLSearchParams('status=x&health=y&sort=z'))).toEqual(DEFAULT_RUNS_VIEW);
  });
});

describe('matchesHealth', () => {
  const bad = run({ id: 'a', health: { critical: 1, warning: 0, info: 0 } });
  const meh = run({ id: 'b', health: { critical: 0, warning: 2, info: 0 } });
  const ok = run({ id: 'c', health: { critical: 0, warning: 0, info: 3 } });

  it('filters by open diagnoses by severity', () => {
    const ids = (f: Parameters<typeof matchesHealth>[1]) => [bad, meh, ok].filter((r) => matchesHealth(r, f)).map((r) => r.id);
    expect(ids('critical')).toEqual(['a']);
    expect(ids('warning')).toEqual(['a', 'b']);
    expect(ids('healthy')).toEqual(['c']);
    expect(ids('')).toEqual(['a', 'b', 'c']);
  });
});

describe('sortRuns', () => {
  const runs = [
    run({ id: 'a', name: 'Beta', last_step: 10, created_at: '2024-01-02T00:00:00Z', health: { critical: 0, warning: 5, info: 0 } }),
    run({ id: 'b', name: 'alpha', last_step: 30, created_at: '2024-01-01T00:00:00Z', health: { critical: 1, warning: 0, info: 0 } }),
    run({ id: 'c', name: 'gamma', last_step: null, created_at: '2024-01-03T00:00:00Z' }),
  ];
  const ids = (rs: Run[]) => rs.map((r) => r.id);

  it('sorts by each column both ways', () => {
    expect(ids(sortRuns(runs, 'created', true, 0))).toEqual(['c', 'a', 'b']);
    expect(ids(sortRuns(runs, 'name', false, 0))).toEqual(['b', 'a', 'c']);
    expect(ids(sortRuns(runs, 'step', true, 0))).toEqual(['b', 'a', 'c']);
    expect(ids(sortRuns(runs, 'health', true, 0))).toEqual(['b', 'a', 'c']); // one critical beats five warnings
  });

  it('lists projects once, sorted', () => {
    expect(projectsOf([run({ id: 'x', project: 'z' }), run({ id: 'y', project: 'a' }), run({ id: 'w', project: 'z' })])).toEqual(['a', 'z']);
  });
});
