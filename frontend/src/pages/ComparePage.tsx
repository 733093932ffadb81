// Compare runs: the same keys overlaid across the selected runs, one chart per key, from
// one `GET /compare` request. Runs, keys, log axes and smoothing live in the URL.

import { useQueries } from '@tanstack/react-query';
import { useMemo } from 'react';
import { Link, useSearchParams } from 'react-router';
import { api } from '../api/client';
import { queryKeys, useCompare, useRunList } from '../api/queries';
import type { Run, SeriesEntry } from '../api/types';
import { GRID_GAP_PX, panelWidth, pointBudget } from '../charts/budget';
import { runColour } from '../charts/compareOptions';
import { type CompareRunLine, ComparePanel } from '../components/ComparePanel';
import { SmoothingControl } from '../components/SmoothingControl';
import { EmptyState, ErrorState, Loading } from '../components/StateMessage';
import {
  compareKeyChoices,
  type CompareView,
  defaultCompareKeys,
  MAX_COMPARE_RUNS,
  parseCompareView,
  serializeCompareView,
} from '../compareView';
import { useChartTheme } from '../hooks/useColorScheme';
import { useElementWidth } from '../hooks/useElementWidth';

const COMPARE_PANEL_PX = 560;

export function ComparePage() {
  const [params, setParams] = useSearchParams();
  const view = useMemo(() => parseCompareView(params), [params]);
  const update = (patch: Partial<CompareView>, replace = false) =>
    setParams(serializeCompareView({ ...view, ...patch }), { replace });
  const theme = useChartTheme();
  const [gridRef, gridWidth] = useElementWidth<HTMLDivElement>();

  const runQueries = useQueries({
    queries: view.runs.map((id) => ({ queryKey: queryKeys.run(id), queryFn: ({ signal }: { signal: AbortSignal }) => api.getRun(id, signal) })),
  });
  const keyQueries = useQueries({
    queries: view.runs.map((id) => ({
      queryKey: queryKeys.keys(id),
      queryFn: ({ signal }: { signal: AbortSignal }) => api.listKeys(id, signal),
    })),
  });
  const runs = runQueries.map((q) => q.data);
  // useQueries returns new arrays every render: memoize on what they hold, not on identity.
  const keysVersion = keyQueries.map((q) => q.dataUpdatedAt).join(',');
  const keyLists = keyQueries.map((q) => q.data?.items);
  const choices = useMemo(() => compareKeyChoices(keyLists), [keysVersion]);
  const labels = view.runs.map((id, i) => labelOf(runs[i], id));
  const labelsKey = labels.join('\u0000');
  const keys = view.keys.length ? view.keys : defaultCompareKeys(choices);
  const points = gridWidth > 0 ? pointBudget(panelWidth(gridWidth, COMPARE_PANEL_PX)) : 0;
  const compare = useCompare(view.runs, keys, points, runs.some((r) => r?.status === 'running') ? 5000 : false);

  const all = useRunList({ limit: 200 }, false);
  const addable = (all.data?.items ?? []).filter((r) => !view.runs.includes(r.id));

  const linesByKey = useMemo(() => {
    const byRun = new Map((compare.data?.runs ?? []).map((r) => [r.run_id, new Map(r.series.map((s) => [s.key, s]))]));
    const out = new Map<string, CompareRunLine[]>();
    for (const key of keys) {
      out.set(
        key,
        view.runs.map((id, i) => ({ runId: id, label: labels[i] ?? id, entry: byRun.get(id)?.get(key) as SeriesEntry | undefined })),
      );
    }
    return out;
  }, [compare.data, view.runs, labelsKey, keys.join(',')]);

  if (view.runs.length === 0) {
    return (
      <div className="page">
        <h1>Compare</h1>
        <EmptyState title="No runs selected">
          Tick runs in the <Link to="/">runs list</Link> and press <b>Compare</b>, or add one below.
          <AddRun runs={addable} onAdd={(id) => update({ runs: [id] })} />
        </EmptyState>
      </div>
    );
  }

  return (
    <div className="page">
      <nav className="crumbs">
        <Link to="/">Runs</Link> <span aria-hidden="true">/</span> <span>Compare</span>
      </nav>
      <div className="page-head">
        <h1>Compare</h1>
        <div className="compare-runs" data-testid="compare-runs">
          {view.runs.map((id, i) => (
            <span key={id} className="chip">
              <span className="legend-swatch" style={{ background: runColour(theme, i) }} />
              <Link to={`/runs/${encodeURIComponent(id)}`}>{labelOf(runs[i], id)}</Link>
              <button
                type="button"
                className="chip-x"
                aria-label={`Remove ${labelOf(runs[i], id)}`}
                onClick={() => update({ runs: view.runs.filter((r) => r !== id) })}
              >
                ×
              </button>
            </span>
          ))}
          {view.runs.length < MAX_COMPARE_RUNS && <AddRun runs={addable} onAdd={(id) => update({ runs: [...view.runs, id] })} />}
        </div>
      </div>
      <div className="tab-toolbar">
        <div className="key-chips" role="group" aria-label="Keys">
          {choices.map(({ key, runs: n }) => {
            const on = keys.includes(key);
            return (
              <button
                key={key}
                type="button"
                className={`toggle${on ? ' is-on' : ''}`}
                aria-pressed={on}
                title={`${n} of ${view.runs.length} runs log ${key}`}
                onClick={() => update({ keys: on ? keys.filter((k) => k !== key) : [...keys, key] })}
              >
                {key}
              </button>
            );
          })}
        </div>
        <SmoothingControl value={view.smooth} onChange={(smooth) => update({ smooth }, true)} />
      </div>
      {compare.isError && <ErrorState title="Could not load the comparison" error={compare.error} />}
      {compare.isPending && keys.length > 0 && <Loading label="Loading series…" />}
      <div className="chart-grid" ref={gridRef} style={{ gridTemplateColumns: `repeat(auto-fill, minmax(${COMPARE_PANEL_PX}px, 1fr))`, gap: GRID_GAP_PX }}>
        {compare.data &&
          keys.map((key) => (
            <ComparePanel
              key={key}
              metricKey={key}
              lines={linesByKey.get(key) ?? []}
              theme={theme}
              log={view.log.includes(key)}
              onToggleLog={() =>
                update({ log: view.log.includes(key) ? view.log.filter((k) => k !== key) : [...view.log, key] }, true)
              }
              smooth={view.smooth}
              syncKey="compare"
            />
          ))}
      </div>
    </div>
  );
}

function labelOf(run: Run | undefined, id: string): string {
  return run?.name || id;
}

function AddRun({ runs, onAdd }: { runs: readonly Run[]; onAdd: (id: string) => void }) {
  if (runs.length === 0) return null;
  return (
    <select className="input" aria-label="Add a run" value="" onChange={(e) => e.target.value && onAdd(e.target.value)}>
      <option value="">+ add run</option>
      {runs.map((r) => (
        <option key={r.id} value={r.id}>
          {r.name || r.id} ({r.project})
        </option>
      ))}
    </select>
  );
}
