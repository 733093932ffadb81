import { useEffect, useRef } from 'react';
import type { SeriesEntry } from '../api/types';
import { lineValues } from '../charts/align';
import { prefersLog, sparkline } from '../charts/sparkline';

const WIDTH = 96;
const HEIGHT = 22;

/** A loss sparkline on a small canvas; log space when the loss spans decades. NaN/Inf shows as a red dot at the end. */
export function Sparkline({ entry, colour, bad }: { entry: SeriesEntry | undefined; colour: string; bad: string }) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const canvas = ref.current;
    const ctx = canvas?.getContext('2d');
    if (!canvas || !ctx) return;
    const dpr = window.devicePixelRatio || 1;
    canvas.width = WIDTH * dpr;
    canvas.height = HEIGHT * dpr;
    ctx.scale(dpr, dpr);
    ctx.clearRect(0, 0, WIDTH, HEIGHT);
    if (!entry) return;
    const values = lineValues(entry);
    const pts = sparkline(entry.step, values, WIDTH, HEIGHT, { log: prefersLog(values) });
    ctx.strokeStyle = colour;
    ctx.lineWidth = 1.25;
    ctx.beginPath();
    pts.forEach((p, i) => (i === 0 ? ctx.moveTo(p.x, p.y) : ctx.lineTo(p.x, p.y)));
    ctx.stroke();
    const last = entry.last[entry.last.length - 1];
    if (last !== null && last !== undefined && !Number.isFinite(last)) {
      ctx.fillStyle = bad;
      ctx.beginPath();
      ctx.arc(WIDTH - 3, 3, 2.5, 0, 2 * Math.PI);
      ctx.fill();
    }
    canvas.dataset.points = String(pts.length);
  }, [entry, colour, bad]);
  return <canvas ref={ref} className="sparkline" style={{ width: WIDTH, height: HEIGHT }} data-testid="sparkline" aria-hidden="true" />;
}
