import { describe, expect, it } from 'vitest';
import { GRID_GAP_PX, heatmapPoints, MIN_PANEL_PX, panelWidth, pointBudget } from './budget';

describe('panelWidth', () => {
  it('matches an auto-fill grid of minmax(MIN_PANEL_PX, 1fr) columns', () => {
    expect(panelWidth(MIN_PANEL_PX - 100)).toBe(MIN_PANEL_PX - 100); // one narrow column
    const two = 2 * MIN_PANEL_PX + GRID_GAP_PX;
    expect(panelWidth(two)).toBe(MIN_PANEL_PX);
    expect(panelWidth(two - 1)).toBe(two - 1); // one column until two fit
    expect(panelWidth(1800)).toBeCloseTo((1800 - 3 * GRID_GAP_PX) / 4);
    expect(panelWidth(0)).toBe(0);
  });
});

describe('pointBudget', () => {
  it('asks for about one bucket per pixel, in steps of 200', () => {
    expect(pointBudget(801)).toBe(1000);
    expect(pointBudget(1000)).toBe(1000);
    expect(pointBudget(650)).toBe(800);
  });

  it('clamps to 400..2000', () => {
    expect(pointBudget(50)).toBe(400);
    expect(pointBudget(0)).toBe(400);
    expect(pointBudget(5000)).toBe(2000);
  });
});

describe('panelWidth with a wider minimum', () => {
  it('fits fewer columns', () => {
    expect(panelWidth(1200, 560)).toBeCloseTo((1200 - GRID_GAP_PX) / 2);
    expect(panelWidth(1100, 560)).toBe(1100);
  });
});

describe('heatmapPoints', () => {
  it('asks for about one bucket per canvas pixel, within bounds', () => {
    expect(heatmapPoints(1190)).toBe(1000);
    expect(heatmapPoints(200)).toBe(100);
    expect(heatmapPoints(5000)).toBe(2000);
    expect(heatmapPoints(0)).toBe(0);
  });
});
