// One key across several runs: one line per run on a shared step axis (charts/align.ts).
// Receives the runs' series as props; never fetches. Hover shows each run's value.
//
// Test hooks: data-testid="compare-<key>", data-lines (runs with a drawn line) after each setData.

import { useCallback, useMemo, useRef, useState } from 'react';
import type uPlot from 'uplot';
import type { SeriesEntry } from '../api/types';
import { alignRuns } from '../charts/align';
import { buildCompareOptions, runColour } from '../charts/compareOptions';
import type { ChartTheme } from '../charts/theme';
import { UPlotChart } from '../charts/UPlotChart';
import { formatInteger, formatNumber } from '../format';

export interface CompareRunLine {
  runId: string;
  label: string;
  entry: SeriesEntry | undefined;
}

export interface ComparePanelProps {
  metricKey: string;
  lines: readonly CompareRunLine[];
  theme: ChartTheme;
  log: boolean;
  onToggleLog: () => void;
  smooth: number;
  syncKey: string;
}

const HEIGHT = 220;

export function ComparePanel({ metricKey, lines, theme, log, onToggleLog, smooth, syncKey }: ComparePanelProps) {
  const [hoverIdx, setHoverIdx] = useState<number | null>(null);
  const panelRef = useRef<HTMLElement>(null);
  const labels = useMemo(() => lines.map((l) => l.label), [lines]);
  const labelKey = labels.join('\u0000');
  const options = useMemo(
    () => buildCompareOptions({ width: 400, height: HEIGHT, labels, log, theme, syncKey, onCursor: setHoverIdx }),
    // Options depend on the labels' values, not the array's identity (a refetch makes a new array).
    [labelKey, log, theme, syncKey],
  );
  const aligned = useMemo(() => alignRuns(lines.map((l) => l.entry), { log, smooth }), [lines, log, smooth]);
  const onData = useCallback(
    (plot: uPlot) => {
      if (panelRef.current) panelRef.current.dataset.lines = String(aligned.points.filter((n) => n > 0).length);
      void plot;
    },
    [aligned],
  );
  const step = hoverIdx !== null ? (aligned.data[0]?.[hoverIdx] ?? null) : null;

  return (
    <section className="panel" data-testid={`compare-${metricKey}`} ref={panelRef}>
      <header className="panel-head">
        <h3 className="panel-title">{metricKey}</h3>
        <button type="button" className={`toggle${log ? ' is-on' : ''}`} aria-pressed={log} onClick={onToggleLog}>
          log
        </button>
      </header>
      <UPlotChart options={options} data={aligned.data} onData={onData} />
      <div className="compare-legend">
        {step !== null && <span className="num muted">step {formatInteger(step)}</span>}
        {lines.map((line, i) => {
          const v = hoverIdx !== null ? (aligned.data[i + 1]?.[hoverIdx] ?? null) : null;
          return (
            <span key={line.runId} className="legend-run" title={line.runId}>
              <span className="legend-swatch" style={{ background: runColour(theme, i) }} />
              {line.label}
              {hoverIdx !== null && <b className="num"> {formatNumber(v)}</b>}
              {aligned.points[i] === 0 && <span className="muted"> (no data)</span>}
            </span>
          );
        })}
      </div>
    </section>
  );
}
