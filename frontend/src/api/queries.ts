// TanStack Query hooks and the query-key factory: the only place the browser keeps
// server state. Components call these hooks; charts receive the data as props.

import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { api } from './client';
import type { Run, RunListParams } from './types';

/** Live views poll at this period; the server's roll-ups make each poll cheap. */
export const POLL_MS = 2000;

/**
 * Hierarchical keys, so `invalidateQueries({ queryKey: queryKeys.run(id) })` refreshes
 * a run together with its keys, series and diagnoses.
 */
export const queryKeys = {
  all: ['gradsight'] as const,
  runLists: () => [...queryKeys.all, 'runs'] as const,
  runList: (params: RunListParams) => [...queryKeys.runLists(), params] as const,
  run: (id: string) => [...queryKeys.all, 'run', id] as const,
  keys: (id: string) => [...queryKeys.run(id), 'keys'] as const,
  series: (id: string, keys: readonly string[], points: number) =>
    [...queryKeys.run(id), 'series', { keys: [...keys], points }] as const,
  diagnoses: (id: string) => [...queryKeys.run(id), 'diagnoses'] as const,
};

export function isLive(run: Run | undefined): boolean {
  return run?.status === 'running';
}

export function useRunList(params: RunListParams) {
  return useQuery({
    queryKey: queryKeys.runList(params),
    queryFn: ({ signal }) => api.listRuns(params, signal),
    refetchInterval: POLL_MS,
    placeholderData: keepPreviousData, // typing in the search box keeps the table, no flash
  });
}

export function useRun(id: string) {
  return useQuery({
    queryKey: queryKeys.run(id),
    queryFn: ({ signal }) => api.getRun(id, signal),
    // Poll only while the run is live; a finished run's data no longer changes.
    refetchInterval: (query) => (isLive(query.state.data) ? POLL_MS : false),
  });
}

export function useRunKeys(id: string, live: boolean) {
  return useQuery({
    queryKey: queryKeys.keys(id),
    queryFn: ({ signal }) => api.listKeys(id, signal),
    select: (page) => page.items,
    refetchInterval: live ? POLL_MS : false,
  });
}

/**
 * One request for all charted keys (the server reads each key's roll-ups once).
 * `points` follows the chart width; callers round it so a resize does not refetch
 * on every pixel.
 */
export function useRunSeries(id: string, keys: readonly string[], points: number, live: boolean) {
  return useQuery({
    queryKey: queryKeys.series(id, keys, points),
    queryFn: ({ signal }) => api.getSeries(id, keys, points, signal),
    enabled: keys.length > 0 && points > 0,
    refetchInterval: live ? POLL_MS : false,
    placeholderData: keepPreviousData, // a new key or width keeps the old charts drawn
  });
}

export function useDiagnoses(id: string, live: boolean) {
  return useQuery({
    queryKey: queryKeys.diagnoses(id),
    queryFn: ({ signal }) => api.listDiagnoses(id, signal),
    select: (page) => page.items,
    refetchInterval: live ? POLL_MS : false,
  });
}
