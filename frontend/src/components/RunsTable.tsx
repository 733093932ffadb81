// The runs list table. Each row is a link to the run page: the name cell's anchor is
// stretched over the whole row (CSS), so a click anywhere on the row navigates and the
// row still behaves as a real link (middle-click, copy address).

import { Link } from 'react-router';
import type { Run } from '../api/types';
import { formatDuration, formatInteger, formatRelative, formatTimestamp } from '../format';
import { runDurationSeconds } from '../runTiming';
import { HealthCounts } from './HealthCounts';
import { StatusBadge } from './StatusBadge';

export function RunsTable({ runs, now }: { runs: readonly Run[]; now: number }) {
  return (
    <table className="table runs-table">
      <thead>
        <tr>
          <th>Name</th>
          <th>Project</th>
          <th>Status</th>
          <th className="num">Last step</th>
          <th>Created</th>
          <th>Updated</th>
          <th className="num">Duration</th>
          <th title="Diagnoses: critical · warning · info">Health</th>
        </tr>
      </thead>
      <tbody>
        {runs.map((run) => (
          <tr key={run.id} className="row-link" data-testid="run-row" data-run-id={run.id}>
            <td className="cell-name">
              <Link to={`/runs/${encodeURIComponent(run.id)}`} className="stretched" title={run.id}>
                {run.name || run.id}
              </Link>
            </td>
            <td className="muted">{run.project}</td>
            <td>
              <StatusBadge status={run.status} />
            </td>
            <td className="num">{formatInteger(run.last_step)}</td>
            <td title={formatTimestamp(run.created_at)}>{formatRelative(run.created_at, now)}</td>
            <td title={formatTimestamp(run.updated_at)}>{formatRelative(run.updated_at, now)}</td>
            <td className="num">{formatDuration(runDurationSeconds(run, now))}</td>
            <td>
              <HealthCounts health={run.health} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
