// The runs list table. Each row is a link to the run page: the name cell's anchor is
// stretched over the whole row (CSS), so a click anywhere on the row navigates and the
// row still behaves as a real link (middle-click, copy address). The checkbox (above the
// stretched link) selects runs to compare; column headers sort.

import { Link } from 'react-router';
import type { Run, SeriesEntry } from '../api/types';
import type { ChartTheme } from '../charts/theme';
import { formatDuration, formatInteger, formatRelative, formatTimestamp } from '../format';
import { runDurationSeconds } from '../runTiming';
import type { RunSort } from '../runsView';
import { HealthCounts } from './HealthCounts';
import { Sparkline } from './Sparkline';
import { StatusBadge } from './StatusBadge';

export interface RunsTableProps {
  runs: readonly Run[];
  now: number;
  sparks: ReadonlyMap<string, SeriesEntry>;
  theme: ChartTheme;
  selected: ReadonlySet<string>;
  onToggle: (id: string) => void;
  sort: RunSort;
  desc: boolean;
  onSort: (sort: RunSort) => void;
}

const COLUMNS: readonly { id: RunSort | null; label: string; numeric?: boolean; title?: string }[] = [
  { id: 'name', label: 'Name' },
  { id: null, label: 'Project' },
  { id: null, label: 'Status' },
  { id: null, label: 'Loss', title: 'Loss over the whole run (log scale when it spans decades)' },
  { id: 'step', label: 'Step', numeric: true },
  { id: 'created', label: 'Created' },
  { id: 'updated', label: 'Updated' },
  { id: 'duration', label: 'Duration', numeric: true },
  { id: 'health', label: 'Health', title: 'Open diagnoses: critical · warning · info' },
];

export function RunsTable({ runs, now, sparks, theme, selected, onToggle, sort, desc, onSort }: RunsTableProps) {
  return (
    <table className="table runs-table">
      <thead>
        <tr>
          <th className="cell-check">
            <span className="visually-hidden">Compare</span>
          </th>
          {COLUMNS.map((col) => {
            const active = col.id === sort;
            return (
              <th
                key={col.label}
                className={col.numeric ? 'num' : undefined}
                title={col.title}
                aria-sort={active ? (desc ? 'descending' : 'ascending') : undefined}
              >
                {col.id ? (
                  <button type="button" className="sort-button" onClick={() => onSort(col.id as RunSort)}>
                    {col.label}
                    <span className="sort-arrow" aria-hidden="true">
                      {active ? (desc ? '▼' : '▲') : ''}
                    </span>
                  </button>
                ) : (
                  col.label
                )}
              </th>
            );
          })}
        </tr>
      </thead>
      <tbody>
        {runs.map((run) => (
          <tr
            key={run.id}
            className={`row-link${selected.has(run.id) ? ' is-selected' : ''}`}
            data-testid="run-row"
            data-run-id={run.id}
            data-status={run.status}
          >
            <td className="cell-check">
              <input
                type="checkbox"
                aria-label={`Select ${run.name || run.id} to compare`}
                checked={selected.has(run.id)}
                onChange={() => onToggle(run.id)}
                data-testid="run-select"
              />
            </td>
            <td className="cell-name">
              <Link to={`/runs/${encodeURIComponent(run.id)}`} className="stretched" title={run.id}>
                {run.name || run.id}
              </Link>
            </td>
            <td className="muted">{run.project}</td>
            <td>
              <StatusBadge status={run.status} />
            </td>
            <td className="cell-spark">
              <Sparkline entry={sparks.get(run.id)} colour={theme.line} bad={theme.marker} />
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
