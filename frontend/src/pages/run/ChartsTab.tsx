// The chart grid: one panel per key, cursors linked across panels (uPlot sync), one zoom
// for all of them. A zoom sets the range in the URL at once (every chart rescales with
// the data it has), and, debounced, re-queries the series for that range at full
// resolution.

import { useCallback, useMemo } from 'react';
import { useRunSeries } from '../../api/queries';
import type { Diagnosis, SeriesEntry } from '../../api/types';
import { GRID_GAP_PX, MIN_PANEL_PX, panelWidth, pointBudget } from '../../charts/budget';
import { type Mark, marksForKey } from '../../charts/marks';
import { KeyPicker } from '../../components/KeyPicker';
import { MetricPanel } from '../../components/MetricPanel';
import { SmoothingControl } from '../../components/SmoothingControl';
import { ErrorState } from '../../components/StateMessage';
import { ZoomBar } from '../../components/ZoomBar';
import { useDebouncedValue } from '../../hooks/useDebouncedValue';
import { useElementWidth } from '../../hooks/useElementWidth';
import { chartKeys } from '../../metrics';
import { sameRange, zoomRange } from '../../viewState';
import type { TabProps } from './types';

/** A burst of zooms sends one request, for where the user settled. */
export const ZOOM_DEBOUNCE_MS = 120;

const GRID_STYLE = {
  gridTemplateColumns: `repeat(auto-fill, minmax(${MIN_PANEL_PX}px, 1fr))`,
  gap: `${GRID_GAP_PX}px`,
};

export function ChartsTab({
  id,
  poll,
  keys,
  keysPending,
  view,
  updateView,
  theme,
  diagnoses,
}: TabProps & { diagnoses: readonly Diagnosis[] | undefined }) {
  const [gridRef, gridWidth] = useElementWidth<HTMLDivElement>();
  const points = gridWidth > 0 ? pointBudget(panelWidth(gridWidth)) : 0;

  const available = useMemo(() => keys ?? [], [keys]);
  const charted = useMemo(() => view.keys ?? chartKeys(available), [view.keys, available]);
  // Only keys the run has are requested; a pinned key it lacks shows "No data yet".
  const requested = useMemo(() => charted.filter((k) => available.includes(k)), [charted, available]);
  const queryRange = useDebouncedValue(view.range, ZOOM_DEBOUNCE_MS, sameRange);
  const series = useRunSeries(id, requested, points, queryRange, poll);
  const byKey = useMemo(
    () => new Map<string, SeriesEntry>((series.data?.series ?? []).map((s) => [s.key, s])),
    [series.data],
  );
  const marks = useMemo(() => {
    const out = new Map<string, Mark[]>();
    for (const key of charted) out.set(key, marksForKey(diagnoses, key));
    return out;
  }, [charted, diagnoses]);

  const onZoom = useCallback(
    (min: number, max: number) => {
      const range = zoomRange(min, max);
      if (range) updateView({ range });
    },
    [updateView],
  );
  const onZoomReset = useCallback(() => updateView({ range: null }), [updateView]);
  const toggleLog = (key: string) =>
    updateView({ log: view.log.includes(key) ? view.log.filter((k) => k !== key) : [...view.log, key] }, { replace: true });

  const seriesLoading = keysPending || (requested.length > 0 && series.isPending);
  // Still showing the previous range's buckets while the new range loads (or waits for the debounce).
  const refining = !sameRange(queryRange, view.range) || (series.isFetching && series.isPlaceholderData);
  const loaded = series.data ? (series.data.range ? `${series.data.range.start}:${series.data.range.end}` : 'all') : '';

  return (
    <>
      <div className="tab-toolbar">
        <KeyPicker
          available={available}
          selected={charted}
          isDefault={view.keys === null}
          onChange={(next) => updateView({ keys: next })}
        />
        <SmoothingControl value={view.smooth} onChange={(smooth) => updateView({ smooth }, { replace: true })} />
        <ZoomBar range={view.range} onReset={onZoomReset} />
        {refining && (
          <span className="muted refining" data-testid="refining">
            loading finer data…
          </span>
        )}
      </div>
      {series.isError && <ErrorState title="Could not load series" error={series.error} />}
      {charted.length === 0 && <div className="state state-empty">No keys selected. Pick some from Keys.</div>}
      <div
        className="chart-grid"
        ref={gridRef}
        style={GRID_STYLE}
        data-testid="chart-grid"
        data-range={view.range ? `${view.range.start}:${view.range.end}` : ''}
        data-loaded-range={loaded}
        data-keys={requested.join(',')}
      >
        {charted.map((key) => (
          <MetricPanel
            key={key}
            metricKey={key}
            entry={byKey.get(key)}
            loading={seriesLoading && (keysPending || requested.includes(key))}
            log={view.log.includes(key)}
            onToggleLog={() => toggleLog(key)}
            smooth={view.smooth}
            marks={marks.get(key)}
            xRange={view.range}
            syncKey={id}
            onZoom={onZoom}
            onZoomReset={onZoomReset}
            theme={theme}
            dataTag={loaded}
          />
        ))}
      </div>
    </>
  );
}
