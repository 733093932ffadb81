import { useDeferredValue, useState } from 'react';
import { useRunList } from '../api/queries';
import type { RunStatus } from '../api/types';
import { RunsTable } from '../components/RunsTable';
import { EmptyState, ErrorState, Loading } from '../components/StateMessage';
import { formatInteger } from '../format';
import { useLastError } from '../hooks/useLastError';
import { useNow } from '../hooks/useNow';
import { newestFirst } from '../runTiming';

const PAGE_SIZE = 200;
const STATUSES: readonly RunStatus[] = ['running', 'finished', 'crashed'];

export function RunsPage() {
  const [search, setSearch] = useState('');
  const [status, setStatus] = useState<RunStatus | ''>('');
  const q = useDeferredValue(search.trim());
  const runs = useRunList({ q: q || undefined, status: status || undefined, limit: PAGE_SIZE });
  const now = useNow();
  const filtered = q !== '' || status !== '';

  // A failed refresh keeps the last good table (with a pill in the header);
  // only a first load that fails shows the error state.
  const data = runs.data;
  const error = useLastError(runs);
  let body;
  if (data === undefined) {
    body = error ? (
      <ErrorState title="Could not load runs" error={error} />
    ) : (
      <Loading label="Loading runs…" />
    );
  } else if (data.items.length === 0) {
    body = filtered ? (
      <EmptyState title="No runs match these filters." />
    ) : (
      <EmptyState title="No runs yet">
        Run <code>make demo</code> or call <code>gradsight.init(...)</code> in a training script; runs
        appear here as soon as they start.
      </EmptyState>
    );
  } else {
    body = <RunsTable runs={newestFirst(data.items)} now={now} />;
  }

  const total = data?.total;
  const shown = data?.items.length ?? 0;

  return (
    <div className="page">
      <div className="page-head">
        <h1>Runs</h1>
        {total !== undefined && (
          <span className="muted num">
            {shown < total ? `${formatInteger(shown)} of ${formatInteger(total)}` : formatInteger(total)}
          </span>
        )}
        {runs.isError && data && <span className="pill pill-warning">refresh failed</span>}
        <div className="toolbar">
          <input
            type="search"
            className="input"
            placeholder="Search runs"
            aria-label="Search runs"
            value={search}
            onChange={(e) => setSearch(e.target.value)}
          />
          <select
            className="input"
            aria-label="Status"
            value={status}
            onChange={(e) => setStatus(e.target.value as RunStatus | '')}
          >
            <option value="">All statuses</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </div>
      </div>
      {body}
    </div>
  );
}
