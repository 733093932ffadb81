// The one thin React wrapper around uPlot: create the instance once per options
// object, setData on new data, setSize on container resize, destroy on unmount.
// Re-creating uPlot on every 2 s refresh would drop the user's zoom and cursor and
// cost a full DOM rebuild; setData only redraws the canvas.

import { useEffect, useLayoutEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface UPlotChartProps {
  /** Identity matters: a new options object re-creates the chart (e.g. a log toggle). */
  options: uPlot.Options;
  data: uPlot.AlignedData;
  /** Called after the chart is created and after every setData. */
  onData?: (plot: uPlot) => void;
}

/** True when the user has zoomed into part of the x range; a refresh then keeps the zoom. */
function isZoomedIn(plot: uPlot): boolean {
  const xs = plot.data[0];
  const { min, max } = plot.scales.x ?? {};
  if (!xs || xs.length < 2 || min == null || max == null) return false;
  return min > (xs[0] as number) || max < (xs[xs.length - 1] as number);
}

export function UPlotChart({ options, data, onData }: UPlotChartProps) {
  const hostRef = useRef<HTMLDivElement>(null);
  const plotRef = useRef<uPlot | null>(null);
  const appliedRef = useRef<uPlot.AlignedData | null>(null);
  const latest = useRef({ data, onData });

  // Declared first, so it runs before the effects below in the same commit.
  useLayoutEffect(() => {
    latest.current = { data, onData };
  });

  // A passive effect, not a layout effect: by then React has attached every ref of the
  // commit, including the parent panel's, which onData writes its attributes to.
  useEffect(() => {
    const host = hostRef.current;
    if (!host) return;
    const width = Math.floor(host.clientWidth) || options.width;
    const plot = new uPlot({ ...options, width }, latest.current.data, host);
    plotRef.current = plot;
    appliedRef.current = latest.current.data;
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
    if (!plot || appliedRef.current === data) return;
    plot.setData(data, !isZoomedIn(plot));
    appliedRef.current = data;
    latest.current.onData?.(plot);
  }, [data]);

  return <div ref={hostRef} className="uplot-host" />;
}
