// Chart grid geometry and how many buckets to ask the server for.

/** Narrowest chart column; the grid fits as many columns of at least this width as it can. */
export const MIN_PANEL_PX = 440;
export const GRID_GAP_PX = 12;

const STEP_PX = 200;
const MIN_POINTS = 400;
const MAX_POINTS = 2000;

/** Width of one chart column in a grid of `repeat(auto-fill, minmax(minPanelPx, 1fr))`. */
export function panelWidth(gridWidthPx: number, minPanelPx: number = MIN_PANEL_PX): number {
  if (!Number.isFinite(gridWidthPx) || gridWidthPx <= 0) return 0;
  const columns = Math.max(1, Math.floor((gridWidthPx + GRID_GAP_PX) / (minPanelPx + GRID_GAP_PX)));
  return (gridWidthPx - (columns - 1) * GRID_GAP_PX) / columns;
}

/**
 * About one bucket per pixel: more cannot be seen, fewer hides a spike's neighbours.
 * Rounded up to a multiple of 200 so resizing a window refetches a few times, not on
 * every pixel; clamped so tiny or huge screens stay between 400 and 2000 buckets.
 */
export function pointBudget(widthPx: number): number {
  if (!Number.isFinite(widthPx) || widthPx <= 0) return MIN_POINTS;
  const rounded = Math.ceil(widthPx / STEP_PX) * STEP_PX;
  return Math.min(MAX_POINTS, Math.max(MIN_POINTS, rounded));
}

const HEATMAP_GUTTER_PX = 190;
const MIN_BUCKETS = 100;
const MAX_BUCKETS = 2000;

/**
 * Heatmap buckets for a layers tab `widthPx` wide: about one per canvas pixel (finer cannot
 * be seen, coarser blurs a spike into its neighbours), within 100..2000.
 */
export function heatmapPoints(widthPx: number, gutterPx: number = HEATMAP_GUTTER_PX): number {
  if (!(widthPx > 0)) return 0;
  return Math.min(MAX_BUCKETS, Math.max(MIN_BUCKETS, Math.floor(widthPx - gutterPx)));
}
