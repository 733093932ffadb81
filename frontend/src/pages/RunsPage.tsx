// The runs list: search, filters (project, status, health), sort, a loss sparkline per
// run, live status (the list polls), and a selection to compare. Filters and sort live
// in the URL (runsView.ts); health filtering and sorting happen here, on the page of runs
// the API returned.

import { useDeferredValue, useEffect, useMemo, useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import { SPARKLINE_POINTS, SPARKLINE_POLL_MS, useCompare, useRunList } from '../api/queries';
import type { RunStatus, SeriesEntry } from '../api/types';
import { RunsTable } from '../components/RunsTable';
import { EmptyState, ErrorState, Loading } from '../components/StateMessage';
import { formatInteger } from '../format';
import { useChartTheme } from '../hooks/useColorScheme';
import { useLastError } from '../hooks/useLastError';
import { useNow } from '../hooks/useNow';
import {
  HEALTH_FILTERS,
  type HealthFilter,
  matchesHealth,
  parseRunsView,
  projectsOf,
  type RunSort,
  type RunsView,
  serializeRunsView,
  sortRuns,
  STATUSES,
} from '../runsView';

const PAGE_SIZE = 200;
/** Sparklines for the first rows only: one compare request, bounded in size. */
const SPARKLINE_ROWS = 50;
const PROJECTS_POLL_MS = 30_000;

export function RunsPage() {
  const [params, setParams] = useSearchParams();
  const view = useMemo(() => parseRunsView(params), [params]);
  const update = (patch: Partial<RunsView>) =>
    setParams(serializeRunsView({ ...view, ...patch }), { replace: true });

  // The search box types into local state; the URL and the query follow, deferred.
  const [search, setSearch] = useState(view.q);
  const q = useDeferredValue(search.trim());
  // Only the typed text drives this effect: a URL change (Back) must not re-apply an old search.
  useEffect(() => {
    if (q !== view.q) setParams(serializeRunsView({ ...view, q }), { replace: true });
  }, [q]);

  const runs = useRunList({
    q: view.q || undefined,
    project: view.project || undefined,
    status: view.status || undefined,
    limit: PAGE_SIZE,
  });
  const all = useRunList({ limit: PAGE_SIZE }, PROJECTS_POLL_MS);
  const projects = useMemo(() => projectsOf([...(all.data?.items ?? []), ...(runs.data?.items ?? [])]), [all.data, runs.data]);
  const now = useNow();
  const theme = useChartTheme();
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());

  // `now` only matters for the duration sort; re-sorting every second otherwise would be wasted work.
  const sortNow = view.sort === 'duration' ? now : 0;
  const shown = useMemo(
    () => sortRuns((runs.data?.items ?? []).filter((r) => matchesHealth(r, view.health)), view.sort, view.desc, sortNow),
    [runs.data, view.health, view.sort, view.desc, sortNow],
  );
  const sparkIds = useMemo(() => shown.slice(0, SPARKLINE_ROWS).map((r) => r.id).sort(), [shown]);
  const anyRunning = shown.some((r) => r.status === 'running');
  const sparkQuery = useCompare(sparkIds, ['loss'], SPARKLINE_POINTS, anyRunning ? SPARKLINE_POLL_MS : false);
  const sparks = useMemo(() => {
    const out = new Map<string, SeriesEntry>();
    for (const r of sparkQuery.data?.runs ?? []) if (r.series[0]) out.set(r.run_id, r.series[0]);
    return out;
  }, [sparkQuery.data]);

  const filtered = view.q !== '' || view.status !== '' || view.project !== '' || view.health !== '';
  const data = runs.data;
  const error = useLastError(runs);
  const toggle = (id: string) =>
    setSelected((prev) => {
      const next = new Set(prev);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });
  const onSort = (sort: RunSort) => update({ sort, desc: sort === view.sort ? !view.desc : sort !== 'name' });

  let body;
  if (data === undefined) {
    body = error ? <ErrorState title="Could not load runs" error={error} /> : <Loading label="Loading runs…" />;
  } else if (shown.length === 0) {
    body = filtered ? (
      <EmptyState title="No runs match these filters.">
        <button type="button" className="link-button" onClick={() => { setSearch(''); setParams(new URLSearchParams(), { replace: true }); }}>
          Clear filters
        </button>
      </EmptyState>
    ) : (
      <EmptyState title="No runs yet">
        Run <code>make demo</code> or call <code>gradsight.init(...)</code> in a training script; runs appear here as
        soon as they start.
      </EmptyState>
    );
  } else {
    body = (
      <RunsTable
        runs={shown}
        now={now}
        sparks={sparks}
        theme={theme}
        selected={selected}
        onToggle={toggle}
        sort={view.sort}
        desc={view.desc}
        onSort={onSort}
      />
    );
  }

  const total = data?.total;
  const compareIds = [...selected];

  return (
    <div className="page">
      <div className="page-head">
        <h1>Runs</h1>
        {total !== undefined && (
          <span className="muted num" data-testid="runs-count">
            {shown.length < total ? `${formatInteger(shown.length)} of ${formatInteger(total)}` : formatInteger(total)}
          </span>
        )}
        {runs.isError && data && <span className="pill pill-warning">refresh failed</span>}
        {compareIds.length > 0 && (
          <Link
            className="button"
            data-testid="compare-selected"
            to={`/compare?runs=${compareIds.map(encodeURIComponent).join(',')}`}
          >
            Compare {compareIds.length} run{compareIds.length === 1 ? '' : 's'}
          </Link>
        )}
        <div className="toolbar">
          <input
            type="search"
            className="input"
            placeholder="Search runs"
            aria-label="Search runs"
            value={search}
            onChange={(e) => setSearch(e.target.value)}
          />
          <select className="input" aria-label="Project" value={view.project} onChange={(e) => update({ project: e.target.value })}>
            <option value="">All projects</option>
            {projects.map((p) => (
              <option key={p} value={p}>
                {p}
              </option>
            ))}
          </select>
          <select className="input" aria-label="Status" value={view.status} onChange={(e) => update({ status: e.target.value as RunStatus | '' })}>
            <option value="">All statuses</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
          <select className="input" aria-label="Health" value={view.health} onChange={(e) => update({ health: e.target.value as HealthFilter | '' })}>
            <option value="">Any health</option>
            {HEALTH_FILTERS.map((h) => (
              <option key={h} value={h}>
                {h === 'critical' ? 'critical open' : h === 'warning' ? 'warning or worse' : 'no warnings'}
              </option>
            ))}
          </select>
        </div>
      </div>
      {body}
    </div>
  );
}
