// A run's loss as a sparkline in the runs list: points scaled into a small box. Pure; the
// Sparkline component strokes them on a canvas (uPlot would be overkill for 60 points × 50 rows).

export interface SparkPoint {
  x: number;
  y: number;
}

/**
 * Canvas coordinates of the finite values, x by step and y by value (top = largest), inset
 * by `pad` pixels. With `log`, values ≤ 0 are left out and y is log10 (losses spanning decades).
 * Fewer than two drawable points give an empty line.
 */
export function sparkline(
  steps: readonly number[],
  values: readonly (number | null)[],
  width: number,
  height: number,
  { log = false, pad = 1.5 }: { log?: boolean; pad?: number } = {},
): SparkPoint[] {
  const xs: number[] = [];
  const ys: number[] = [];
  for (let i = 0; i < steps.length; i++) {
    const v = values[i];
    if (v === null || v === undefined || !Number.isFinite(v) || (log && v <= 0)) continue;
    xs.push(steps[i] as number);
    ys.push(log ? Math.log10(v) : v);
  }
  if (xs.length < 2) return [];
  const x0 = xs[0] as number;
  const x1 = xs[xs.length - 1] as number;
  let y0 = Infinity;
  let y1 = -Infinity;
  for (const y of ys) {
    if (y < y0) y0 = y;
    if (y > y1) y1 = y;
  }
  const w = width - 2 * pad;
  const h = height - 2 * pad;
  const spanX = x1 - x0 || 1;
  const spanY = y1 - y0;
  return xs.map((x, i) => ({
    x: pad + ((x - x0) / spanX) * w,
    y: pad + (spanY === 0 ? h / 2 : (1 - ((ys[i] as number) - y0) / spanY) * h),
  }));
}

/** Whether values should be drawn in log space: all positive and spanning more than `ratio` (a decade by default). */
export function prefersLog(values: readonly (number | null)[], ratio = 10): boolean {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v === null || !Number.isFinite(v)) continue;
    if (v <= 0) return false;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return hi > 0 && lo > 0 && hi / lo > ratio;
}
