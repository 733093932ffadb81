// TanStack Query hooks and the query-key factory: the only place the browser keeps
// server state. Components call these hooks; charts receive the data as props.
//
// Freshness: a live run's page listens to the run's event stream (hooks/useRunStream.ts),
// which invalidates the run's queries when new steps or diagnoses arrive. Polling
// (`poll`) is the fallback while the stream is down; the run itself always polls while
// live, because a run that goes stale (crashed) sends no event.

import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { api } from './client';
import type { Run, RunListParams, SeriesResponse, StepRange } from './types';

/** Live views poll at this period when the event stream is unavailable. */
export const POLL_MS = 2000;
/** Sparklines of running runs refresh this often (the list itself polls every POLL_MS). */
export const SPARKLINE_POLL_MS = 10_000;
/** Buckets per sparkline: the runs list only needs the shape of the loss. */
export const SPARKLINE_POINTS = 64;

/**
 * Hierarchical keys, so `invalidateQueries({ queryKey: queryKeys.run(id) })` refreshes
 * a run together with its keys, series, diagnoses, matrices and advice.
 */
export const queryKeys = {
  all: ['gradsight'] as const,
  runLists: () => [...queryKeys.all, 'runs'] as const,
  runList: (params: RunListParams) => [...queryKeys.runLists(), params] as const,
  run: (id: string) => [...queryKeys.all, 'run', id] as const,
  keys: (id: string) => [...queryKeys.run(id), 'keys'] as const,
  series: (id: string, keys: readonly string[], points: number, range: StepRange | null = null) =>
    [...queryKeys.run(id), 'series', { keys: [...keys], points, range }] as const,
  diagnoses: (id: string) => [...queryKeys.run(id), 'diagnoses'] as const,
  matrix: (id: string, family: string, points: number, range: StepRange | null, agg: string) =>
    [...queryKeys.run(id), 'matrix', { family, points, range, agg }] as const,
  advisor: (id: string) => [...queryKeys.run(id), 'advisor'] as const,
  compare: (runIds: readonly string[], keys: readonly string[], points: number) =>
    [...queryKeys.all, 'compare', { runs: [...runIds], keys: [...keys], points }] as const,
};

export function isLive(run: Run | undefined): boolean {
  return run?.status === 'running';
}

export function useRunList(params: RunListParams, refetchInterval: number | false = POLL_MS) {
  return useQuery({
    queryKey: queryKeys.runList(params),
    queryFn: ({ signal }) => api.listRuns(params, signal),
    refetchInterval,
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

export function useRunKeys(id: string, poll: boolean) {
  return useQuery({
    queryKey: queryKeys.keys(id),
    queryFn: ({ signal }) => api.listKeys(id, signal),
    select: (page) => page.items,
    refetchInterval: poll ? POLL_MS : false,
  });
}

/** A series response with the range it answers (null: the whole run), so a view can tell
 * which zoom the data on screen belongs to while a newer one loads. */
export type RangedSeries = SeriesResponse & { range: StepRange | null };

/**
 * One request for all charted keys (the server reads each key's roll-ups once).
 * `points` follows the chart width; callers round it so a resize does not refetch
 * on every pixel. `range` is the zoom: the server answers it at full resolution.
 */
export function useRunSeries(
  id: string,
  keys: readonly string[],
  points: number,
  range: StepRange | null,
  poll: boolean,
  enabled = true,
) {
  return useQuery({
    queryKey: queryKeys.series(id, keys, points, range),
    queryFn: async ({ signal }): Promise<RangedSeries> => ({ ...(await api.getSeries(id, keys, points, range, signal)), range }),
    enabled: enabled && keys.length > 0 && points > 0,
    refetchInterval: poll ? POLL_MS : false,
    placeholderData: keepPreviousData, // a new key, width or zoom keeps the old charts drawn
  });
}

export function useDiagnoses(id: string, poll: boolean) {
  return useQuery({
    queryKey: queryKeys.diagnoses(id),
    queryFn: ({ signal }) => api.listDiagnoses(id, signal),
    select: (page) => page.items,
    refetchInterval: poll ? POLL_MS : false,
  });
}

export function useMatrix(
  id: string,
  family: string | null,
  points: number,
  range: StepRange | null,
  agg: string,
  poll: boolean,
) {
  return useQuery({
    queryKey: queryKeys.matrix(id, family ?? '', points, range, agg),
    queryFn: ({ signal }) => api.getMatrix(id, family ?? '', points, range, agg, signal),
    enabled: family !== null && points > 0,
    refetchInterval: poll ? POLL_MS : false,
    placeholderData: keepPreviousData,
  });
}

export function useAdvisor(id: string) {
  return useQuery({
    queryKey: queryKeys.advisor(id),
    queryFn: ({ signal }) => api.getAdvisor(id, signal),
  });
}

export function useCompare(
  runIds: readonly string[],
  keys: readonly string[],
  points: number,
  refetchInterval: number | false = false,
) {
  return useQuery({
    queryKey: queryKeys.compare(runIds, keys, points),
    queryFn: ({ signal }) => api.getCompare(runIds, keys, points, signal),
    enabled: runIds.length > 0 && keys.length > 0 && points > 0,
    refetchInterval,
    placeholderData: keepPreviousData,
  });
}
