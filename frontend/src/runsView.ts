// The runs list's view state (search, filters, sort) in the URL, and the client-side
// filtering and sorting the API does not do (health, sort order). Pure.

import type { Run, RunStatus } from './api/types';
import { parseTimestamp } from './format';
import { runDurationSeconds } from './runTiming';

export const STATUSES: readonly RunStatus[] = ['running', 'finished', 'crashed'];
export const HEALTH_FILTERS = ['critical', 'warning', 'healthy'] as const;
export type HealthFilter = (typeof HEALTH_FILTERS)[number];
export const SORTS = ['created', 'updated', 'name', 'step', 'duration', 'health'] as const;
export type RunSort = (typeof SORTS)[number];

export interface RunsView {
  q: string;
  project: string;
  status: RunStatus | '';
  health: HealthFilter | '';
  sort: RunSort;
  desc: boolean;
}

export const DEFAULT_RUNS_VIEW: RunsView = { q: '', project: '', status: '', health: '', sort: 'created', desc: true };

function oneOf<T extends string>(value: string | null, allowed: readonly T[]): T | '' {
  return value !== null && (allowed as readonly string[]).includes(value) ? (value as T) : '';
}

export function parseRunsView(params: URLSearchParams): RunsView {
  const sort = oneOf(params.get('sort'), SORTS);
  return {
    q: params.get('q') ?? '',
    project: params.get('project') ?? '',
    status: oneOf(params.get('status'), STATUSES),
    health: oneOf(params.get('health'), HEALTH_FILTERS),
    sort: sort || DEFAULT_RUNS_VIEW.sort,
    desc: params.get('dir') !== 'asc',
  };
}

export function serializeRunsView(view: RunsView): URLSearchParams {
  const out = new URLSearchParams();
  if (view.q) out.set('q', view.q);
  if (view.project) out.set('project', view.project);
  if (view.status) out.set('status', view.status);
  if (view.health) out.set('health', view.health);
  if (view.sort !== DEFAULT_RUNS_VIEW.sort) out.set('sort', view.sort);
  if (!view.desc) out.set('dir', 'asc');
  return out;
}

/** Health filter: runs with open critical diagnoses, with any warning or worse, or with neither. */
export function matchesHealth(run: Run, filter: HealthFilter | ''): boolean {
  const { critical, warning } = run.health;
  if (filter === 'critical') return critical > 0;
  if (filter === 'warning') return critical + warning > 0;
  if (filter === 'healthy') return critical + warning === 0;
  return true;
}

/** Orders by severity: any critical beats any number of warnings, which beat infos. */
export function healthScore(run: Run): number {
  return run.health.critical * 1e6 + run.health.warning * 1e3 + run.health.info;
}

function sortValue(run: Run, sort: RunSort, now: number): number | string {
  switch (sort) {
    case 'created':
      return parseTimestamp(run.created_at) ?? 0;
    case 'updated':
      return parseTimestamp(run.updated_at) ?? 0;
    case 'name':
      return (run.name || run.id).toLowerCase();
    case 'step':
      return run.last_step ?? -1;
    case 'duration':
      return runDurationSeconds(run, now) ?? -1;
    case 'health':
      return healthScore(run);
  }
}

/** Sorted by a column, ties broken by id so the order is stable across polls. */
export function sortRuns(runs: readonly Run[], sort: RunSort, desc: boolean, now: number): Run[] {
  const sign = desc ? -1 : 1;
  return [...runs].sort((a, b) => {
    const va = sortValue(a, sort, now);
    const vb = sortValue(b, sort, now);
    if (va < vb) return -sign;
    if (va > vb) return sign;
    return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
  });
}

/** Projects seen in a list of runs, sorted, for the project filter. */
export function projectsOf(runs: readonly Run[]): string[] {
  return [...new Set(runs.map((r) => r.project))].sort();
}
