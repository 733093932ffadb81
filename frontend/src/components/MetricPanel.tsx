// One chart panel: title, log toggle, the uPlot chart of one key and a readout line
// (the last value at rest, the bucket under the cursor on hover). Receives its series
// as a prop and never fetches.
//
// Test hooks: the panel carries data-testid="chart-<key>", and after each setData
// data-points (drawable line points), data-nonfinite (non-finite markers), data-raw,
// data-first-step / data-last-step (the x extent of the drawn data), data-range (the
// page's tag for the drawn data: its step range) and data-marks (diagnosis spans shown).

import { useCallback, useMemo, useRef, useState } from 'react';
import type uPlot from 'uplot';
import type { SeriesEntry, StepRange } from '../api/types';
import { type Mark, marksAt } from '../charts/marks';
import { buildChartOptions } from '../charts/options';
import { bucketWidth, COL, countMarkers, countPoints, describeMarker, prepareSeries, readoutAt, type Readout } from '../charts/prepare';
import { type ChartTheme, LIGHT } from '../charts/theme';
import { UPlotChart } from '../charts/UPlotChart';
import { formatInteger, formatNumber } from '../format';

const CHART_HEIGHT = 190;
const INITIAL_WIDTH = 400; // replaced by the container's width on mount
const NO_MARKS: readonly Mark[] = [];

export interface MetricPanelProps {
  metricKey: string;
  entry: SeriesEntry | undefined;
  /** The series request is still in flight (shows "Loading…" rather than "No data yet"). */
  loading?: boolean;
  log?: boolean;
  onToggleLog?: () => void;
  /** EMA weight; 0 = off. */
  smooth?: number;
  marks?: readonly Mark[];
  xRange?: StepRange | null;
  syncKey?: string;
  onZoom?: (min: number, max: number) => void;
  onZoomReset?: () => void;
  theme?: ChartTheme;
  height?: number;
  /** Shown instead of the key (the evidence chart of a diagnosis names its purpose). */
  title?: string;
  /** Names the data drawn (its step range); written to data-range after each setData. */
  dataTag?: string;
}

function HoverReadout({ readout, marks }: { readout: Readout; marks: readonly Mark[] }) {
  const spread = readout.min !== readout.max;
  return (
    <>
      <span>
        step <b>{formatInteger(readout.step)}</b>
      </span>
      <span>
        {spread ? 'mean' : 'value'} <b>{formatNumber(readout.mean)}</b>
      </span>
      {readout.smooth !== null && (
        <span>
          smoothed <b>{formatNumber(readout.smooth)}</b>
        </span>
      )}
      {spread && (
        <span>
          min–max <b>{formatNumber(readout.min)}</b>–<b>{formatNumber(readout.max)}</b>
        </span>
      )}
      {readout.marker !== null && (
        <span className="is-bad">
          NaN/Inf <b>{describeMarker(readout.marker)}</b>
        </span>
      )}
      {marksAt(marks, readout.step).map((m) => (
        <span key={`${m.rule}-${m.from}`} className={`sev-${m.severity}`}>
          {m.rule}
        </span>
      ))}
    </>
  );
}

export function MetricPanel({
  metricKey,
  entry,
  loading = false,
  log = false,
  onToggleLog,
  smooth = 0,
  marks = NO_MARKS,
  xRange = null,
  syncKey,
  onZoom,
  onZoomReset,
  theme = LIGHT,
  height = CHART_HEIGHT,
  title,
  dataTag,
}: MetricPanelProps) {
  const [hoverIdx, setHoverIdx] = useState<number | null>(null);
  const panelRef = useRef<HTMLElement>(null);
  // Callbacks and marks are read through a ref, so a new closure from the page does not
  // re-create the chart (that would lose the cursor and cost a DOM rebuild).
  const live = useRef({ marks, onZoom, onZoomReset, dataTag });
  live.current = { marks, onZoom, onZoomReset, dataTag };
  const zoomable = onZoom !== undefined;
  const options = useMemo(
    () =>
      buildChartOptions({
        width: INITIAL_WIDTH,
        height,
        log,
        smooth: smooth > 0,
        theme,
        syncKey,
        onCursor: setHoverIdx,
        getMarks: () => live.current.marks,
        ...(zoomable
          ? {
              onZoom: (min: number, max: number) => live.current.onZoom?.(min, max),
              onZoomReset: () => live.current.onZoomReset?.(),
            }
          : {}),
      }),
    [height, log, smooth > 0, theme, syncKey, zoomable],
  );
  const prepared = useMemo(() => prepareSeries(entry, { log, smooth }), [entry, log, smooth]);

  const reportDrawn = useCallback((plot: uPlot) => {
    const panel = panelRef.current;
    if (!panel) return;
    const xs = plot.data[COL.x];
    panel.dataset.points = String(countPoints(plot.data));
    panel.dataset.nonfinite = String(countMarkers(plot.data));
    panel.dataset.firstStep = xs && xs.length ? String(xs[0]) : '';
    panel.dataset.lastStep = xs && xs.length ? String(xs[xs.length - 1]) : '';
    if (live.current.dataTag !== undefined) panel.dataset.range = live.current.dataTag;
  }, []);

  const empty = prepared.points === 0 && prepared.markers === 0;
  const hovered = readoutAt(prepared.data, hoverIdx);
  // A bucket's step is its first step, while `last` may come from a later one in the
  // same bucket, so the resting readout names the step only for raw series.
  const lastStep = entry?.raw ? entry.step[entry.step.length - 1] : undefined;
  const latestIsBad = prepared.latest !== null && !Number.isFinite(prepared.latest);
  const openMarks = marks.filter((m) => m.open);

  return (
    <section
      className="panel"
      data-testid={`chart-${metricKey}`}
      data-key={metricKey}
      data-raw={entry ? String(entry.raw) : undefined}
      data-marks={marks.length}
      ref={panelRef}
    >
      <header className="panel-head">
        <h3 className="panel-title" title={metricKey}>
          {title ?? metricKey}
        </h3>
        {prepared.markers > 0 && (
          <span className="pill pill-critical" title="Buckets holding NaN or ±Inf values (red markers on the top edge)">
            {prepared.markers} NaN/Inf
          </span>
        )}
        {openMarks.length > 0 && (
          <span
            className={`pill pill-${openMarks[openMarks.length - 1]!.severity}`}
            title={openMarks.map((m) => `${m.rule}: steps ${m.from}–${m.to}`).join('\n')}
          >
            {openMarks.length === 1 ? openMarks[0]!.rule : `${openMarks.length} diagnoses`}
          </span>
        )}
        {entry && !entry.raw && (
          <span className="panel-res muted" title="Each point is a bucket of steps: the line is its mean, the band its min–max">
            {formatInteger(bucketWidth(entry))} steps/pt
          </span>
        )}
        {onToggleLog && (
          <button
            type="button"
            className={`toggle${log ? ' is-on' : ''}`}
            aria-pressed={log}
            onClick={onToggleLog}
            title="Logarithmic y axis (values ≤ 0 are left out)"
          >
            log
          </button>
        )}
      </header>
      <div className="panel-body">
        <UPlotChart options={options} data={prepared.data} xRange={xRange} redrawKey={marks} onData={reportDrawn} />
        {empty && <div className="panel-empty">{loading ? 'Loading…' : 'No data yet'}</div>}
      </div>
      <div className="readout num">
        {hovered ? (
          <HoverReadout readout={hovered} marks={marks} />
        ) : prepared.latest !== null ? (
          <>
            {lastStep !== undefined && (
              <span>
                step <b>{formatInteger(lastStep)}</b>
              </span>
            )}
            <span className={latestIsBad ? 'is-bad' : undefined}>
              last <b>{formatNumber(prepared.latest)}</b>
            </span>
          </>
        ) : (
          <span>&nbsp;</span>
        )}
      </div>
    </section>
  );
}
