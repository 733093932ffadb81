// The layer table: latest value per layer with range statistics, sortable by any column,
// outliers highlighted (charts/layerStats.ts). Layer names are buttons: keyboard users
// reach the click-through the heatmap offers to the pointer.

import { useMemo, useState } from 'react';
import { type LayerColumn, type LayerRow, sortRows, type SortDirection } from '../charts/layerStats';
import { formatInteger, formatNumber } from '../format';

const COLUMNS: readonly { id: LayerColumn; label: string; numeric: boolean; title?: string }[] = [
  { id: 'index', label: '#', numeric: true, title: 'Position in model order' },
  { id: 'layer', label: 'Layer', numeric: false },
  { id: 'latest', label: 'Latest', numeric: true, title: 'The last bucket with data' },
  { id: 'min', label: 'Min', numeric: true },
  { id: 'median', label: 'Median', numeric: true },
  { id: 'max', label: 'Max', numeric: true },
  { id: 'nonfinite', label: 'NaN/Inf', numeric: true, title: 'Buckets holding non-finite values' },
  { id: 'z', label: 'Robust z', numeric: true, title: 'Modified z-score of the latest value across layers; |z| > 3.5 is an outlier' },
];

export function LayerTable({ rows, onSelect }: { rows: readonly LayerRow[]; onSelect: (layer: string) => void }) {
  const [sort, setSort] = useState<{ column: LayerColumn; direction: SortDirection }>({ column: 'index', direction: 'asc' });
  const sorted = useMemo(() => sortRows(rows, sort.column, sort.direction), [rows, sort]);
  const outliers = rows.filter((r) => r.outlier).length;

  const header = (column: (typeof COLUMNS)[number]) => {
    const active = sort.column === column.id;
    const next: SortDirection = active && sort.direction === 'desc' ? 'asc' : active ? 'desc' : column.numeric && column.id !== 'index' ? 'desc' : 'asc';
    return (
      <th
        key={column.id}
        className={column.numeric ? 'num' : undefined}
        aria-sort={active ? (sort.direction === 'asc' ? 'ascending' : 'descending') : 'none'}
        title={column.title}
      >
        <button type="button" className="sort-button" onClick={() => setSort({ column: column.id, direction: next })}>
          {column.label}
          <span className="sort-arrow" aria-hidden="true">
            {active ? (sort.direction === 'asc' ? '▲' : '▼') : ''}
          </span>
        </button>
      </th>
    );
  };

  return (
    <div className="layer-table-wrap">
      <div className="muted layer-table-note" data-testid="layer-outliers">
        {rows.length} layers · {outliers === 0 ? 'no outliers' : `${outliers} outlier${outliers === 1 ? '' : 's'} highlighted`}
      </div>
      <div className="layer-table-scroll">
      <table className="table layer-table" data-testid="layer-table">
        <thead>
          <tr>{COLUMNS.map(header)}</tr>
        </thead>
        <tbody>
          {sorted.map((row) => (
            <tr key={row.layer} className={row.outlier ? 'is-outlier' : undefined} data-layer={row.layer} data-outlier={row.outlier}>
              <td className="num muted">{row.index}</td>
              <td className="cell-name">
                <button type="button" className="link-button mono" onClick={() => onSelect(row.layer)} title={`Chart ${row.layer}`}>
                  {row.layer}
                </button>
              </td>
              <td className={`num${row.latest !== null && !Number.isFinite(row.latest) ? ' is-bad' : ''}`} title={row.latestStep !== null ? `bucket from step ${formatInteger(row.latestStep)}` : undefined}>
                {formatNumber(row.latest)}
              </td>
              <td className="num">{formatNumber(row.min)}</td>
              <td className="num">{formatNumber(row.median)}</td>
              <td className="num">{formatNumber(row.max)}</td>
              <td className={`num${row.nonfinite > 0 ? ' is-bad' : ''}`}>{row.nonfinite > 0 ? formatInteger(row.nonfinite) : ''}</td>
              <td className="num">{row.z === null ? '—' : row.z.toFixed(1)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      </div>
    </div>
  );
}
