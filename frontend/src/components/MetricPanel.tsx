// One chart panel: title, log toggle, the uPlot chart of one key and a readout line
// (the last value at rest, the bucket under the cursor on hover). Receives its series
// as a prop and never fetches.
//
// Test hooks: the panel carries data-testid="chart-<key>", and after each setData
// data-points (drawable line points) and data-nonfinite (non-finite markers).

import { useCallback, useMemo, useRef, useState } from 'react';
import type uPlot from 'uplot';
import type { SeriesEntry } from '../api/types';
import { buildChartOptions } from '../charts/options';
import { countMarkers, countPoints, describeMarker, prepareSeries, readoutAt, type Readout } from '../charts/prepare';
import { UPlotChart } from '../charts/UPlotChart';
import { formatInteger, formatNumber } from '../format';

const CHART_HEIGHT = 190;
const INITIAL_WIDTH = 400; // replaced by the container's width on mount

export interface MetricPanelProps {
  metricKey: string;
  entry: SeriesEntry | undefined;
  /** The series request is still in flight (shows "Loading…" rather than "No data yet"). */
  loading?: boolean;
}

function HoverReadout({ readout }: { readout: Readout }) {
  const spread = readout.min !== readout.max;
  return (
    <>
      <span>step <b>{formatInteger(readout.step)}</b></span>
      <span>{spread ? 'mean' : 'value'} <b>{formatNumber(readout.mean)}</b></span>
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
    </>
  );
}

export function MetricPanel({ metricKey, entry, loading = false }: MetricPanelProps) {
  const [log, setLog] = useState(false);
  const [hoverIdx, setHoverIdx] = useState<number | null>(null);
  const panelRef = useRef<HTMLElement>(null);
  const options = useMemo(
    () => buildChartOptions({ width: INITIAL_WIDTH, height: CHART_HEIGHT, log, onCursor: setHoverIdx }),
    [log],
  );
  const prepared = useMemo(() => prepareSeries(entry, { log }), [entry, log]);

  const reportDrawn = useCallback((plot: uPlot) => {
    const panel = panelRef.current;
    if (!panel) return;
    panel.dataset.points = String(countPoints(plot.data));
    panel.dataset.nonfinite = String(countMarkers(plot.data));
  }, []);

  const empty = prepared.points === 0 && prepared.markers === 0;
  const hovered = readoutAt(prepared.data, hoverIdx);
  // A bucket's step is its first step, while `last` may come from a later one in the
  // same bucket, so the resting readout names the step only for raw series.
  const lastStep = entry?.raw ? entry.step[entry.step.length - 1] : undefined;
  const latestIsBad = prepared.latest !== null && !Number.isFinite(prepared.latest);

  return (
    <section className="panel" data-testid={`chart-${metricKey}`} ref={panelRef}>
      <header className="panel-head">
        <h3 className="panel-title" title={metricKey}>
          {metricKey}
        </h3>
        {prepared.markers > 0 && (
          <span className="pill pill-critical" title="Buckets holding NaN or ±Inf values (red markers on the top edge)">
            {prepared.markers} NaN/Inf
          </span>
        )}
        <button
          type="button"
          className={`toggle${log ? ' is-on' : ''}`}
          aria-pressed={log}
          onClick={() => setLog((on) => !on)}
          title="Logarithmic y axis (values ≤ 0 are left out)"
        >
          log
        </button>
      </header>
      <div className="panel-body">
        <UPlotChart options={options} data={prepared.data} onData={reportDrawn} />
        {empty && <div className="panel-empty">{loading ? 'Loading…' : 'No data yet'}</div>}
      </div>
      <div className="readout num">
        {hovered ? (
          <HoverReadout readout={hovered} />
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
