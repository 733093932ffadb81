import { useCallback, useMemo } from 'react';
import { useSearchParams } from 'react-router';
import { parseView, type RunView, serializeView } from '../viewState';

export type UpdateView = (patch: Partial<RunView>, options?: { replace?: boolean }) => void;

/**
 * The run page's view state, read from and written to the URL (viewState.ts). Updates
 * push a history entry by default, so Back undoes a zoom or a tab change; toggles that
 * are not worth a Back step pass `replace`.
 */
export function useRunView(): [RunView, UpdateView] {
  const [params, setParams] = useSearchParams();
  const view = useMemo(() => parseView(params), [params]);
  const update = useCallback<UpdateView>(
    (patch, options) => {
      setParams((prev) => serializeView({ ...parseView(prev), ...patch }, prev), { replace: options?.replace ?? false });
    },
    [setParams],
  );
  return [view, update];
}
