// Chart grid geometry and how many buckets to ask the server for.

/** Narrowest chart column; the grid fits as many columns of at least this width as it can. */
export const MIN_PANEL_PX = 440;
export const GRID_GAP_PX = 12;

const STEP_PX = 200;
const MIN_POINTS = 400;
const MAX_POINTS = 2000;

/** Width of one chart column in a grid of `repeat(auto-fill, minmax(MIN_PANEL_PX, 1fr))`. */
export function panelWidth(gridWidthPx: number): number {
  if (!Number.isFinite(gridWidthPx) || gridWidthPx <= 0) return 0;
  const columns = Math.max(1, Math.floor((gridWidthPx + GRID_GAP_PX) / (MIN_PANEL_PX + GRID_GAP_PX)));
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
