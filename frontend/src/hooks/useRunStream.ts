// Live updates for one run from `GET /runs/{id}/stream` (server-sent events):
// `steps` {"last_step"} when stored data reaches a new step, `diagnosis` {diagnosis}
// when one opens, resolves or changes severity. Each event invalidates the run's queries
// (keys, series, diagnoses, matrix) so the mounted views refetch; a burst of events is
// throttled to one refresh per THROTTLE_MS (leading and trailing), which is what a chart
// can usefully show. EventSource reconnects by itself (the server sends `retry:`);
// `connected` tells the page when to fall back to polling.

import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { streamUrl } from '../api/client';
import { queryKeys } from '../api/queries';
import { throttle } from '../throttle';

export const THROTTLE_MS = 1000;

export interface StreamState {
  connected: boolean;
  /** The last step the stream announced (null before the first event). */
  lastStep: number | null;
}

export function useRunStream(id: string, enabled: boolean): StreamState {
  const queryClient = useQueryClient();
  const [state, setState] = useState<StreamState>({ connected: false, lastStep: null });

  useEffect(() => {
    if (!enabled || typeof EventSource === 'undefined') return;
    const source = new EventSource(streamUrl(id));
    const refresh = throttle(() => void queryClient.invalidateQueries({ queryKey: queryKeys.run(id) }), THROTTLE_MS);
    let known: number | null = null;

    source.addEventListener('open', () => setState((s) => ({ ...s, connected: true })));
    source.addEventListener('error', () => setState((s) => ({ ...s, connected: false })));
    source.addEventListener('steps', (event) => {
      const step = readStep((event as MessageEvent<string>).data);
      if (step === null || (known !== null && step <= known)) return;
      known = step;
      setState({ connected: true, lastStep: step });
      refresh.call();
    });
    source.addEventListener('diagnosis', () => refresh.call());

    return () => {
      source.close();
      refresh.cancel();
      setState({ connected: false, lastStep: null });
    };
  }, [id, enabled, queryClient]);

  return state;
}

function readStep(data: string): number | null {
  try {
    const step: unknown = (JSON.parse(data) as { last_step?: unknown }).last_step;
    return typeof step === 'number' && Number.isFinite(step) ? step : null;
  } catch {
    return null;
  }
}
