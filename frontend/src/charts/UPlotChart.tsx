// The one thin React wrapper around uPlot: create the instance once per options
// object, setData on new data, setScale on a new zoom range, setSize on container
// resize, destroy on unmount. Re-creating uPlot on every refresh would drop the cursor
// and cost a full DOM rebuild; setData only redraws the canvas.

import { useEffect, useLayoutEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { StepRange } from '../api/types';

export interface UPlotChartProps {
  /** Identity matters: a new options object re-creates the chart (e.g. a log toggle). */
  options: uPlot.Options;
  data: uPlot.AlignedData;
  /**
   * The x range to show ([start, end) in steps); null fits the data. The page owns the
   * zoom, so every chart of a page shows the same range and a refresh keeps it.
   */
  xRange?: StepRange | null;
  /** Anything the draw hooks read outside `data` (diagnosis marks): a change redraws. */
  redrawKey?: unknown;
  /** Called after the chart is created and after every setData. */
  onData?: (plot: uPlot) => void;
}

function applyRange(plot: uPlot, range: StepRange | null | undefined): void {
  // The range end is exclusive; the last step shown is end − 1.
  if (range) plot.setScale('x', { min: range.start, max: Math.max(range.start + 1, range.end - 1) });
}

export function UPlotChart({ options, data, xRange = null, redrawKey, onData }: UPlotChartProps) {
  const hostRef = useRef<HTMLDivElement>(null);
  const plotRef = useRef<uPlot | null>(null);
  const appliedRef = useRef<{ data: uPlot.AlignedData; range: StepRange | null } | null>(null);
  const latest = useRef({ data, xRange, onData });
  const drawnKey = useRef<unknown>(redrawKey);

  // Declared first, so it runs before the effects below in the same commit.
  useLayoutEffect(() => {
    latest.current = { data, xRange, onData };
  });

  // A passive effect, not a layout effect: by then React has attached every ref of the
  // commit, including the parent panel's, which onData writes its attributes to.
  useEffect(() => {
    const host = hostRef.current;
    if (!host) return;
    const width = Math.floor(host.clientWidth) || options.width;
    const { data: initial, xRange: range } = latest.current;
    const plot = new uPlot({ ...options, width }, initial, host);
    applyRange(plot, range);
    plotRef.current = plot;
    appliedRef.current = { data: initial, range };
    latest.current.onData?.(plot);

    const observer = new ResizeObserver((entries) => {
      const w = Math.floor(entries[0]?.contentRect.width ?? 0);
      if (w > 0 && w !== plot.width) plot.setSize({ width: w, height: options.height });
    });
    observer.observe(host);
    return () => {
      observer.disconnect();
      plot.destroy();
      plotRef.current = null;
      appliedRef.current = null;
    };
  }, [options]);

  useEffect(() => {
    const plot = plotRef.current;
    const applied = appliedRef.current;
    if (!plot || !applied) return;
    const newData = applied.data !== data;
    const newRange = applied.range?.start !== xRange?.start || applied.range?.end !== xRange?.end;
    if (!newData && !newRange) return;
    if (newData) plot.setData(data, xRange === null); // without a zoom, fit the new data
    if (xRange) applyRange(plot, xRange);
    else if (!newData) plot.setData(data, true); // zoom reset: back to the data's extent
    appliedRef.current = { data, range: xRange };
    if (newData) latest.current.onData?.(plot);
  }, [data, xRange]);

  useEffect(() => {
    // Not on mount: a redraw(false) queued before uPlot's first commit cancels the axis
    // layout that commit would do (uPlot then draws axes it never measured, and throws).
    if (drawnKey.current === redrawKey) return;
    drawnKey.current = redrawKey;
    plotRef.current?.redraw(false);
  }, [redrawKey]);

  return <div ref={hostRef} className="uplot-host" />;
}
