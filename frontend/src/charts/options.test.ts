import type uPlot from 'uplot';
import { describe, expect, it } from 'vitest';
import { buildChartOptions, drawMarkers, MARKER_CLASS, MARKER_SCALE } from './options';
import { COL, MARKER_NAN } from './prepare';

const fakePlot = {} as uPlot;

describe('buildChartOptions', () => {
  const opts = buildChartOptions({ width: 640, height: 200 });

  it('has one series per prepared column, in column order', () => {
    expect(opts.series).toHaveLength(5);
    expect(opts.series.map((s) => s.label)).toEqual(['step', 'max', 'min', 'mean', 'NaN/Inf']);
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
    expect(opts.hooks?.draw).toContain(drawMarkers);
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
      series: [{}, {}, {}, {}, { show }],
      data: [Float64Array.from(codes.map((_, i) => i * 10)), [], [], [], codes],
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
