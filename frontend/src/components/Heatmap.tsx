// Layers × steps heatmap on a canvas. The matrix becomes one RGBA image with a pixel per
// cell (charts/heatmap.ts), drawn scaled with smoothing off: 200 layers × 2000 buckets
// is one putImageData and one drawImage, not 400k DOM nodes. Layer names are drawn in a
// gutter where rows are tall enough; hovering shows any cell's layer, steps and value,
// and a click hands the cell to the page (click-through to that layer's series).
//
// Test hooks: data-testid="heatmap", data-family, data-layers, data-buckets, data-draws
// (count of completed draws) on the figure.

import { type MouseEvent, useEffect, useMemo, useRef, useState } from 'react';
import type { MatrixResponse } from '../api/types';
import { bucketSpan, type Cell, cellAt, type ColourScale, renderCells, rowHeight, SPECIAL_DARK, SPECIAL_LIGHT } from '../charts/heatmap';
import type { ChartTheme } from '../charts/theme';
import { formatInteger, formatNumber } from '../format';
import { useElementWidth } from '../hooks/useElementWidth';

const GUTTER_PX = 190;
const LABEL_MIN_ROW_PX = 11;
const AXIS_TICKS = 6;

export interface HeatmapProps {
  matrix: MatrixResponse;
  scale: ColourScale | null;
  theme: ChartTheme;
  /** One past the run's last step: where the last bucket ends. */
  endStep: number | null;
  onSelect: (layer: string, from: number, to: number) => void;
}

/** Keeps the end of a long parameter name, which is the part that tells layers apart. */
function clipStart(text: string, maxChars: number): string {
  return text.length <= maxChars ? text : `…${text.slice(text.length - maxChars + 1)}`;
}

export function Heatmap({ matrix, scale, theme, endStep, onSelect }: HeatmapProps) {
  const [hostRef, hostWidth] = useElementWidth<HTMLDivElement>();
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const gutterRef = useRef<HTMLCanvasElement>(null);
  const figureRef = useRef<HTMLDivElement>(null);
  const [hover, setHover] = useState<{ cell: Cell; x: number; y: number } | null>(null);

  const layers = matrix.layers.length;
  const buckets = matrix.step.length;
  const rowPx = rowHeight(layers);
  const plotWidth = Math.max(0, hostWidth - GUTTER_PX);
  const plotHeight = layers * rowPx;
  const special = theme.name === 'dark' ? SPECIAL_DARK : SPECIAL_LIGHT;
  const rgba = useMemo(() => renderCells(matrix, scale, undefined, special), [matrix, scale, special]);

  useEffect(() => {
    const canvas = canvasRef.current;
    const gutter = gutterRef.current;
    if (!canvas || !gutter || plotWidth <= 0 || layers === 0) return;
    const dpr = window.devicePixelRatio || 1;
    canvas.width = Math.round(plotWidth * dpr);
    canvas.height = Math.round(plotHeight * dpr);
    const ctx = canvas.getContext('2d');
    if (!ctx) return;
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    if (buckets > 0) {
      const cells = document.createElement('canvas');
      cells.width = buckets;
      cells.height = layers;
      cells.getContext('2d')?.putImageData(new ImageData(rgba, buckets, layers), 0, 0);
      ctx.imageSmoothingEnabled = false; // crisp cells: a spike stays one sharp column
      ctx.drawImage(cells, 0, 0, canvas.width, canvas.height);
    }

    gutter.width = Math.round(GUTTER_PX * dpr);
    gutter.height = Math.round(plotHeight * dpr);
    const g = gutter.getContext('2d');
    if (!g) return;
    g.clearRect(0, 0, gutter.width, gutter.height);
    g.scale(dpr, dpr);
    g.fillStyle = theme.axis;
    g.font = '10px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace';
    g.textAlign = 'right';
    g.textBaseline = 'middle';
    const every = Math.max(1, Math.ceil(LABEL_MIN_ROW_PX / rowPx));
    for (let i = 0; i < layers; i += every) {
      // Clamped so the first and last labels are not cut in half when rows are thin.
      const y = Math.min(Math.max(i * rowPx + rowPx / 2, 6), plotHeight - 6);
      g.fillText(clipStart(matrix.layers[i] ?? '', 30), GUTTER_PX - 6, y);
    }
    const figure = figureRef.current;
    if (figure) figure.dataset.draws = String(Number(figure.dataset.draws ?? '0') + 1);
  }, [rgba, plotWidth, plotHeight, layers, buckets, rowPx, matrix.layers, theme.axis]);

  const locate = (event: MouseEvent<HTMLCanvasElement>) => {
    const rect = event.currentTarget.getBoundingClientRect();
    const x = event.clientX - rect.left;
    const y = event.clientY - rect.top;
    const cell = cellAt(x, y, rect.width, rect.height, layers, buckets);
    return cell ? { cell, x, y } : null;
  };

  const hovered = hover ? describeCell(matrix, hover.cell, endStep) : null;
  const ticks = axisTicks(matrix.step, AXIS_TICKS);

  return (
    <div className="heatmap" ref={hostRef}>
      <div
        className="heatmap-figure"
        ref={figureRef}
        data-testid="heatmap"
        data-family={matrix.family}
        data-layers={layers}
        data-buckets={buckets}
        style={{ height: plotHeight }}
      >
        <canvas ref={gutterRef} className="heatmap-gutter" style={{ width: GUTTER_PX, height: plotHeight }} aria-hidden="true" />
        <canvas
          ref={canvasRef}
          className="heatmap-canvas"
          style={{ width: plotWidth, height: plotHeight, left: GUTTER_PX }}
          role="img"
          aria-label={`${matrix.family} heatmap: ${layers} layers × ${buckets} step buckets`}
          onMouseMove={(e) => setHover(locate(e))}
          onMouseLeave={() => setHover(null)}
          onClick={(e) => {
            const at = locate(e);
            if (!at) return;
            const [from, to] = bucketSpan(matrix.step, at.cell.bucket, endStep);
            onSelect(matrix.layers[at.cell.layer] as string, from, to);
          }}
        />
        {hover && hovered && (
          <div
            className="heatmap-tip"
            data-testid="heatmap-tip"
            style={{
              left: GUTTER_PX + Math.min(hover.x + 12, plotWidth - 240),
              top: Math.min(hover.y + 12, Math.max(0, plotHeight - 60)),
            }}
          >
            <div className="mono heatmap-tip-layer">{hovered.layer}</div>
            <div>
              steps {formatInteger(hovered.from)}–{formatInteger(hovered.to - 1)}
            </div>
            <div>
              value <b className={hovered.bad ? 'is-bad' : undefined}>{hovered.value}</b>
            </div>
          </div>
        )}
      </div>
      <div className="heatmap-axis" style={{ marginLeft: GUTTER_PX }}>
        {ticks.map((t) => (
          <span key={t.index} style={{ left: `${(t.index / Math.max(1, buckets)) * 100}%` }}>
            {formatInteger(t.step)}
          </span>
        ))}
      </div>
    </div>
  );
}

function describeCell(matrix: MatrixResponse, cell: Cell, endStep: number | null) {
  const v = matrix.values[cell.layer]?.[cell.bucket] ?? null;
  const [from, to] = bucketSpan(matrix.step, cell.bucket, endStep);
  return {
    layer: matrix.layers[cell.layer] ?? '',
    from,
    to,
    value: v === null ? 'no data' : formatNumber(v),
    bad: v !== null && !Number.isFinite(v),
  };
}

function axisTicks(steps: readonly number[], count: number): { index: number; step: number }[] {
  if (steps.length === 0) return [];
  const out: { index: number; step: number }[] = [];
  const every = Math.max(1, Math.floor(steps.length / count));
  for (let i = 0; i < steps.length; i += every) out.push({ index: i, step: steps[i] as number });
  return out;
}
