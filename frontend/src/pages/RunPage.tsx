// One run: header, diagnoses and the chart grid. This page owns the queries; panels
// receive their series as props. While the run is `running`, run, keys, series and
// diagnoses poll every POLL_MS; they stop once it finishes.

import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useMemo, useRef } from 'react';
import { Link, useParams } from 'react-router';
import { ApiError } from '../api/client';
import { isLive, queryKeys, useDiagnoses, useRun, useRunKeys, useRunSeries } from '../api/queries';
import type { SeriesEntry } from '../api/types';
import { GRID_GAP_PX, MIN_PANEL_PX, panelWidth, pointBudget } from '../charts/budget';
import { DiagnosesList } from '../components/DiagnosesList';
import { MetricPanel } from '../components/MetricPanel';
import { RunHeader } from '../components/RunHeader';
import { EmptyState, ErrorState, Loading } from '../components/StateMessage';
import { useElementWidth } from '../hooks/useElementWidth';
import { useNow } from '../hooks/useNow';
import { chartKeys } from '../metrics';

const GRID_STYLE = {
  gridTemplateColumns: `repeat(auto-fill, minmax(${MIN_PANEL_PX}px, 1fr))`,
  gap: `${GRID_GAP_PX}px`,
};

/** When a live run stops, fetch its keys and series once more so the last steps show. */
function useFinalRefresh(id: string, live: boolean) {
  const queryClient = useQueryClient();
  const wasLive = useRef(live);
  useEffect(() => {
    if (wasLive.current && !live) void queryClient.invalidateQueries({ queryKey: queryKeys.run(id) });
    wasLive.current = live;
  }, [id, live, queryClient]);
}

export function RunPage() {
  const { id = '' } = useParams();
  const now = useNow();
  const run = useRun(id);
  const live = isLive(run.data);
  useFinalRefresh(id, live);

  const keys = useRunKeys(id, live);
  const diagnoses = useDiagnoses(id, live);
  const [gridRef, gridWidth] = useElementWidth<HTMLDivElement>();
  const points = gridWidth > 0 ? pointBudget(panelWidth(gridWidth)) : 0;

  const charted = useMemo(() => chartKeys(keys.data ?? []), [keys.data]);
  // Only keys the run has are requested; a pinned key it lacks shows "No data yet".
  const requested = useMemo(() => charted.filter((k) => keys.data?.includes(k)), [charted, keys.data]);
  const series = useRunSeries(id, requested, points, live);
  const byKey = useMemo(
    () => new Map<string, SeriesEntry>((series.data?.series ?? []).map((s) => [s.key, s])),
    [series.data],
  );

  if (run.isPending) return <Loading label="Loading run…" />;
  if (run.isError && !run.data) {
    const notFound = run.error instanceof ApiError && run.error.status === 404;
    return (
      <div className="page">
        {notFound ? (
          <EmptyState title="Run not found">
            No run has the id <code>{id}</code>. <Link to="/">Back to runs</Link>
          </EmptyState>
        ) : (
          <ErrorState title="Could not load this run" error={run.error}>
            <Link to="/">Back to runs</Link>
          </ErrorState>
        )}
      </div>
    );
  }

  const seriesLoading = keys.isPending || (requested.length > 0 && series.isPending);

  return (
    <div className="page">
      <nav className="crumbs">
        <Link to="/">Runs</Link> <span aria-hidden="true">/</span> <span>{run.data.project}</span>
      </nav>
      <RunHeader run={run.data} now={now} />
      <DiagnosesList items={diagnoses.data} />
      {keys.isError && <ErrorState title="Could not load this run's metric names" error={keys.error} />}
      {series.isError && <ErrorState title="Could not load series" error={series.error} />}
      <div className="chart-grid" ref={gridRef} style={GRID_STYLE}>
        {charted.map((key) => (
          <MetricPanel
            key={key}
            metricKey={key}
            entry={byKey.get(key)}
            loading={seriesLoading && (keys.isPending || requested.includes(key))}
          />
        ))}
      </div>
    </div>
  );
}
