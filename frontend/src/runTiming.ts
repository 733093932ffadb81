// Run durations as the dashboard shows them.

import type { Run } from './api/types';
import { parseTimestamp } from './format';

/**
 * Seconds from creation to the end of the run: `finished_at` when finished, the last
 * update for a crashed run (its last sign of life), and `now` while it runs.
 */
export function runDurationSeconds(run: Run, nowMs: number): number | null {
  const start = parseTimestamp(run.created_at);
  if (start === null) return null;
  const end =
    run.status === 'running'
      ? nowMs
      : (parseTimestamp(run.finished_at) ?? parseTimestamp(run.updated_at));
  return end === null ? null : Math.max(0, (end - start) / 1000);
}

/** Newest first by creation time; ties broken by id so the order is stable across polls. */
export function newestFirst(runs: readonly Run[]): Run[] {
  return [...runs].sort((a, b) => {
    const diff = (parseTimestamp(b.created_at) ?? 0) - (parseTimestamp(a.created_at) ?? 0);
    return diff !== 0 ? diff : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
  });
}
