// Choose which keys the chart grid shows. Scalars are listed; per-layer keys (thousands
// in a large model) appear only when the filter text matches them, capped to keep the
// list a list. The selection lives in the URL (`keys=`), in the order chosen.

import { useEffect, useMemo, useRef, useState } from 'react';
import { isPerParameterKey } from '../metrics';

const MAX_LAYER_MATCHES = 50;

export interface KeyPickerProps {
  available: readonly string[];
  selected: readonly string[];
  /** True when `selected` is the default set (no `keys=` in the URL). */
  isDefault: boolean;
  onChange: (keys: string[] | null) => void;
}

export function KeyPicker({ available, selected, isDefault, onChange }: KeyPickerProps) {
  const [filter, setFilter] = useState('');
  const ref = useRef<HTMLDetailsElement>(null);
  // A popover closes on Escape and on a click outside it.
  useEffect(() => {
    const close = (event: Event) => {
      const details = ref.current;
      if (!details?.open) return;
      if (event instanceof KeyboardEvent ? event.key === 'Escape' : !details.contains(event.target as Node)) {
        details.open = false;
      }
    };
    document.addEventListener('keydown', close);
    document.addEventListener('mousedown', close);
    return () => {
      document.removeEventListener('keydown', close);
      document.removeEventListener('mousedown', close);
    };
  }, []);
  const chosen = useMemo(() => new Set(selected), [selected]);
  const needle = filter.trim().toLowerCase();
  const scalars = available.filter((k) => !isPerParameterKey(k) && k.toLowerCase().includes(needle));
  const layers = needle
    ? available.filter((k) => isPerParameterKey(k) && k.toLowerCase().includes(needle)).slice(0, MAX_LAYER_MATCHES)
    : [];
  const toggle = (key: string) =>
    onChange(chosen.has(key) ? selected.filter((k) => k !== key) : [...selected, key]);

  const row = (key: string) => (
    <label key={key} className="picker-row">
      <input type="checkbox" checked={chosen.has(key)} onChange={() => toggle(key)} />
      <span className="mono">{key}</span>
    </label>
  );

  return (
    <details className="picker" data-testid="key-picker" ref={ref}>
      <summary className="toggle toggle-lg">
        Keys <span className="muted">{isDefault ? 'all' : selected.length}</span>
      </summary>
      <div className="picker-pop">
        <input
          type="search"
          className="input"
          placeholder="Filter keys (also per-layer)"
          aria-label="Filter keys"
          value={filter}
          onChange={(e) => setFilter(e.target.value)}
        />
        <div className="picker-list">
          {scalars.map(row)}
          {layers.length > 0 && <div className="picker-group">per-layer</div>}
          {layers.map(row)}
          {scalars.length === 0 && layers.length === 0 && <div className="muted picker-empty">No key matches.</div>}
        </div>
        <div className="picker-foot">
          <button type="button" className="link-button" onClick={() => onChange(null)} disabled={isDefault}>
            Default set
          </button>
          <button type="button" className="link-button" onClick={() => onChange([])}>
            Clear
          </button>
        </div>
      </div>
    </details>
  );
}
