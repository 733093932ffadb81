import { useEffect, useRef } from 'react';
import { type ColourScale, decadeTicks, SPECIAL_DARK, SPECIAL_LIGHT, VIRIDIS } from '../charts/heatmap';
import type { ChartTheme } from '../charts/theme';
import { formatNumber } from '../format';

const BAR_PX = 220;

const rgb = (c: readonly number[]) => `rgb(${c[0]}, ${c[1]}, ${c[2]})`;

/** The heatmap's log colour bar with decade ticks, and swatches for the special cells. */
export function ColourLegend({ scale, theme }: { scale: ColourScale | null; theme: ChartTheme }) {
  const barRef = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const ctx = barRef.current?.getContext('2d');
    if (!ctx) return;
    for (let x = 0; x < BAR_PX; x++) {
      const i = Math.round((x / (BAR_PX - 1)) * 255) * 3;
      ctx.fillStyle = rgb([VIRIDIS[i]!, VIRIDIS[i + 1]!, VIRIDIS[i + 2]!]);
      ctx.fillRect(x, 0, 1, 10);
    }
  }, []);
  const special = theme.name === 'dark' ? SPECIAL_DARK : SPECIAL_LIGHT;
  return (
    <div className="legend" aria-label="Colour scale">
      <div className="legend-bar">
        <canvas ref={barRef} width={BAR_PX} height={10} />
        {scale && (
          <div className="legend-ticks">
            <span style={{ left: 0 }}>{formatNumber(10 ** scale.lo, 2)}</span>
            {decadeTicks(scale, 4)
              .map((e) => ({ e, at: (e - scale.lo) / (scale.hi - scale.lo) }))
              .filter(({ at }) => at > 0.18 && at < 0.82) // keep clear of the end labels
              .map(({ e, at }) => (
                <span key={e} style={{ left: `${at * 100}%` }}>
                  {formatNumber(10 ** e, 2)}
                </span>
              ))}
            <span style={{ right: 0 }}>{formatNumber(10 ** scale.hi, 2)}</span>
          </div>
        )}
      </div>
      <span className="muted">log scale</span>
      <span className="swatch" style={{ background: rgb(special.zero) }} /> <span>0</span>
      <span className="swatch" style={{ background: rgb(special.nonfinite) }} /> <span>NaN/Inf</span>
      <span className="swatch swatch-empty" /> <span>no data</span>
    </div>
  );
}
