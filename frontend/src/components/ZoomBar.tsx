import type { StepRange } from '../api/types';
import { formatInteger } from '../format';

/** Shows the zoomed step range with a reset button; a hint when not zoomed. */
export function ZoomBar({ range, onReset }: { range: StepRange | null; onReset: () => void }) {
  if (!range) {
    return <span className="muted zoom-hint">drag on a chart to zoom · double-click to reset</span>;
  }
  return (
    <span className="zoom-bar" data-testid="zoom-range">
      steps <b className="num">{formatInteger(range.start)}</b>–<b className="num">{formatInteger(range.end - 1)}</b>
      <button type="button" className="toggle" onClick={onReset} title="Show the whole run (or double-click a chart)">
        reset zoom
      </button>
    </span>
  );
}
