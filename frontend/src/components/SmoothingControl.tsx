import { MAX_SMOOTH } from '../viewState';

/** EMA weight slider (0 = off), TensorBoard-style. */
export function SmoothingControl({ value, onChange }: { value: number; onChange: (value: number) => void }) {
  return (
    <label className="smoothing" title="Exponential moving average of each line; the raw line stays faint behind it">
      smoothing
      <input
        type="range"
        min={0}
        max={MAX_SMOOTH}
        step={0.01}
        value={value}
        aria-label="Smoothing"
        onChange={(e) => onChange(Number(e.target.value))}
      />
      <span className="num smoothing-value">{value > 0 ? value.toFixed(2) : 'off'}</span>
    </label>
  );
}
