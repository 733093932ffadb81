import { useMemo } from 'react';
import { useRunSeries } from '../../api/queries';

/** Throughput keys in the order the header prefers them (tokens are what LLM users compare). */
const THROUGHPUT_KEYS = ['throughput/tokens_per_s', 'throughput/samples_per_s', 'time/step_s'] as const;
const UNITS: Record<(typeof THROUGHPUT_KEYS)[number], string> = {
  'throughput/tokens_per_s': 'tokens/s',
  'throughput/samples_per_s': 'samples/s',
  'time/step_s': 's/step',
};
/** The header's figure is the mean over the run's most recent steps. */
export const RECENT_STEPS = 100;

export interface Throughput {
  value: number;
  unit: string;
  /** Over steps [from, lastStep]. */
  from: number;
}

/**
 * Recent throughput for the run header: one small request for the last RECENT_STEPS
 * steps of whichever throughput keys the run logs, aggregated to a single bucket.
 */
export function useThroughput(
  id: string,
  keys: readonly string[] | undefined,
  lastStep: number | null,
  poll: boolean,
): Throughput | null {
  const present = useMemo(() => THROUGHPUT_KEYS.filter((k) => keys?.includes(k)), [keys]);
  const from = lastStep === null ? 0 : Math.max(0, lastStep - RECENT_STEPS + 1);
  const range = lastStep === null ? null : { start: from, end: lastStep + 1 };
  const series = useRunSeries(id, present, 1, range, poll, lastStep !== null);
  return useMemo(() => {
    for (const key of present) {
      const entry = series.data?.series.find((s) => s.key === key);
      if (!entry || entry.step.length === 0) continue;
      // One bucket when downsampled; a few raw points otherwise: average what came back.
      const values = entry.mean.filter((v): v is number => v !== null && Number.isFinite(v));
      if (values.length === 0) continue;
      return { value: values.reduce((a, b) => a + b, 0) / values.length, unit: UNITS[key], from };
    }
    return null;
  }, [present, series.data, from]);
}
