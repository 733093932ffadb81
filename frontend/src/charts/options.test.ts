import type uPlot from 'uplot';
import { describe, expect, it } from 'vitest';
import type { Mark } from './marks';
import { buildChartOptions, drawMarkers, drawMarks, MARKER_CLASS, MARKER_SCALE } from './options';
import { DARK, LIGHT } from './theme';
import { COL, MARKER_NAN } from './prepare';

const fakePlot = {} as uPlot;

describe('buildChartOptions', () => {
  const opts = buildChartOptions({ width: 640, height: 200 });

  it('has one series per prepared column, in column order', () => {
    expect(opts.series).toHaveLength(6);
    expect(opts.series.map((s) => s.label)).toEqual(['step', 'max', 'min', 'mean', 'NaN/Inf', 'smoothed']);
    expect(opts.width).toBe(640);
    expect(opts.height).toBe(200);
  });

  it('fills a band between the max and min columns', () => {
    expect(opts.bands).toHaveLength(1);
    expect(opts.bands![0]!.series).toEqual([COL.max, COL.min]);
    expect(opts.bands![0]!.fill).toBeTruthy();
  });

  it('keeps markers on their own fixed scale, out of auto-ranging, with no line', () => {
    const marker = opts.series[COL.marker]!;
    expect(marker.scale).toBe(MARKER_SCALE);
    expect(marker.auto).toBe(false);
    expect(marker.class).toBe(MARKER_CLASS);
    expect(marker.paths!(fakePlot, COL.marker, 0, 1)).toBeNull();
    expect(opts.scales![MARKER_SCALE]).toMatchObject({ auto: false, range: [0, 1] });
    expect(opts.hooks?.draw).toHaveLength(1);
  });

  it('reports the cursor index through onCursor instead of a legend', () => {
    expect(opts.legend?.show).toBe(false);
    expect(opts.hooks?.setCursor).toBeUndefined();
    const seen: (number | null)[] = [];
    const withCursor = buildChartOptions({ width: 640, height: 200, onCursor: (i) => seen.push(i) });
    const hook = withCursor.hooks!.setCursor![0]!;
    hook({ cursor: { idx: 7 } } as unknown as uPlot);
    hook({ cursor: { idx: null } } as unknown as uPlot);
    expect(seen).toEqual([7, null]);
  });

  it('formats y tick labels compactly and x ticks without exponents', () => {
    const ticks = (axis: number, splits: number[]) => {
      const values = opts.axes![axis]!.values as (u: uPlot, s: number[]) => string[];
      return values(fakePlot, splits);
    };
    expect(ticks(0, [0, 1000, 2000])).toEqual(['0', '1000', '2000']);
    expect(ticks(1, [0.00001, 25000])).toEqual(['1e-5', '25k']);
    expect(ticks(1, [1, null as unknown as number, 10])).toEqual(['1', '', '10']); // thinned log ticks
  });

  it('uses a linear y axis by default and a log axis on request', () => {
    expect(opts.scales!.y!.distr).toBeUndefined();
    expect(opts.scales!.x!.time).toBe(false);
    const log = buildChartOptions({ width: 640, height: 200, log: true });
    expect(log.scales!.y).toMatchObject({ distr: 3, log: 10 });
  });
});

describe('smoothing, theme, sync and zoom', () => {
  const opts = buildChartOptions({ width: 640, height: 200 });
  it('draws the smoothed line bold and the raw line faint only when smoothing is on', () => {
    expect(opts.series[COL.smooth]!.show).toBe(false);
    const smooth = buildChartOptions({ width: 640, height: 200, smooth: true });
    expect(smooth.series[COL.smooth]!.show).toBe(true);
    expect(smooth.series[COL.mean]!.stroke).toBe(LIGHT.lineFaint);
    expect(smooth.series[COL.smooth]!.stroke).toBe(LIGHT.line);
  });

  it('takes its colours from the theme', () => {
    const dark = buildChartOptions({ width: 640, height: 200, theme: DARK });
    expect(dark.series[COL.mean]!.stroke).toBe(DARK.line);
    expect(dark.bands![0]!.fill).toBe(DARK.bandFill);
  });

  it('syncs hover, but not drags or double-clicks, across charts with the same key', () => {
    expect(opts.cursor?.sync).toBeUndefined();
    const synced = buildChartOptions({ width: 640, height: 200, syncKey: 'run-1' });
    const sync = synced.cursor!.sync!;
    expect(sync.key).toBe('run-1');
    const pub = sync.filters!.pub! as unknown as (type: string) => boolean;
    expect(['mousemove', 'mouseleave'].map(pub)).toEqual([true, true]);
    expect(['mousedown', 'mouseup', 'dblclick'].map(pub)).toEqual([false, false, false]);
  });

  it('turns a drag selection into onZoom(min, max) and clears the selection', () => {
    const zooms: [number, number][] = [];
    const zoomed = buildChartOptions({ width: 640, height: 200, onZoom: (a, b) => zooms.push([a, b]) });
    expect(zoomed.cursor!.drag!.setScale).toBe(false); // the page sets the scale after re-querying
    const cleared: unknown[] = [];
    const u = {
      select: { left: 100, width: 50, top: 0, height: 10 },
      posToVal: (px: number) => px * 10,
      setSelect: (s: unknown) => cleared.push(s),
    } as unknown as uPlot;
    zoomed.hooks!.setSelect![0]!(u);
    expect(zooms).toEqual([[1000, 1500]]);
    expect(cleared).toHaveLength(1);
    (u.select as { width: number }).width = 0; // the clearing itself fires setSelect again
    zoomed.hooks!.setSelect![0]!(u);
    expect(zooms).toHaveLength(1);
  });

  it('resets the zoom on double-click', () => {
    let resets = 0;
    const withReset = buildChartOptions({ width: 640, height: 200, onZoomReset: () => resets++ });
    const listeners: Record<string, () => void> = {};
    const u = { over: { addEventListener: (t: string, f: () => void) => (listeners[t] = f) } } as unknown as uPlot;
    withReset.hooks!.ready![0]!(u);
    listeners.dblclick!();
    expect(resets).toBe(1);
  });
});

describe('drawMarks (diagnosis spans)', () => {
  function plot() {
    const rects: [string, number, number][] = [];
    const ctx = {
      save: () => {},
      restore: () => {},
      fillStyle: '',
      fillRect(x: number, _y: number, w: number) {
        rects.push([this.fillStyle, x, w]);
      },
    };
    const u = { bbox: { left: 0, top: 0, width: 100, height: 50 }, ctx, valToPos: (v: number) => v } as unknown as uPlot;
    return { u, rects };
  }
  const mark = (from: number, to: number, severity: Mark['severity'] = 'critical'): Mark => ({
    from,
    to,
    severity,
    rule: 'divergence',
    open: true,
  });

  it('washes the span and draws a severity strip, clipped to the plot', () => {
    const { u, rects } = plot();
    drawMarks(u, [mark(20, 40), mark(90, 500, 'warning')], LIGHT);
    expect(rects).toEqual([
      [LIGHT.severity.critical.wash, 20, 20],
      [LIGHT.severity.critical.strip, 20, 20],
      [LIGHT.severity.warning.wash, 90, 10],
      [LIGHT.severity.warning.strip, 90, 10],
    ]);
  });

  it('keeps a one-step event visible and skips spans outside the view', () => {
    const { u, rects } = plot();
    drawMarks(u, [mark(30, 30), mark(200, 300)], LIGHT);
    expect(rects).toHaveLength(2);
    expect(rects[0]![2]).toBeGreaterThanOrEqual(2);
  });
});

describe('drawMarkers', () => {
  function plot(codes: (number | null)[], show = true) {
    const calls: string[] = [];
    const ctx = {
      save: () => calls.push('save'),
      restore: () => calls.push('restore'),
      fillRect: (x: number) => calls.push(`guide@${x}`),
      beginPath: () => {},
      moveTo: () => {},
      lineTo: () => {},
      closePath: () => {},
      fill: () => calls.push('marker'),
      fillStyle: '',
    };
    const u = {
      series: [{}, {}, {}, {}, { show }, {}],
      data: [Float64Array.from(codes.map((_, i) => i * 10)), [], [], [], codes, []],
      bbox: { left: 0, top: 0, width: 25, height: 100 },
      ctx,
      valToPos: (v: number) => v, // 1 step = 1 canvas px
    } as unknown as uPlot;
    return { u, calls };
  }

  it('draws one marker per non-finite bucket inside the visible x range', () => {
    const { u, calls } = plot([null, 2, MARKER_NAN, 1]); // x = 0, 10, 20, 30 (30 is off-plot)
    drawMarkers(u);
    expect(calls.filter((c) => c === 'marker')).toHaveLength(2);
    expect(calls.filter((c) => c.startsWith('guide@')).map((c) => Math.round(Number(c.slice(6))))).toEqual([10, 20]);
  });

  it('draws nothing when the NaN/Inf series is toggled off in the legend', () => {
    const { u, calls } = plot([1, 1], false);
    drawMarkers(u);
    expect(calls).toEqual([]);
  });
});
