// Compact key=value chips for a run's config or metadata. Nested objects are
// flattened to dotted keys ("optimizer.lr"), so a config reads as one dense block.

import { useState } from 'react';

const COLLAPSED_COUNT = 16;

/** Flattens nested plain objects to dotted keys; arrays and scalars are leaf values. */
export function flattenEntries(value: Record<string, unknown>, prefix = ''): [string, unknown][] {
  const out: [string, unknown][] = [];
  for (const [key, v] of Object.entries(value)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      out.push(...flattenEntries(v as Record<string, unknown>, path));
    } else {
      out.push([path, v]);
    }
  }
  return out;
}

/** Exact text of a config value: configs are read for exact numbers, not rounded ones. */
export function valueText(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

export function KeyValues({ values, emptyText }: { values: Record<string, unknown> | null | undefined; emptyText: string }) {
  const [expanded, setExpanded] = useState(false);
  const entries = flattenEntries(values ?? {});
  if (entries.length === 0) return <span className="muted">{emptyText}</span>;
  const shown = expanded ? entries : entries.slice(0, COLLAPSED_COUNT);
  return (
    <div className="kv">
      {shown.map(([key, v]) => (
        <span className="kv-item" key={key} title={`${key} = ${valueText(v)}`}>
          <span className="kv-key">{key}</span>
          <span className="kv-value">{valueText(v)}</span>
        </span>
      ))}
      {entries.length > COLLAPSED_COUNT && (
        <button type="button" className="link-button" onClick={() => setExpanded((e) => !e)}>
          {expanded ? 'show less' : `+${entries.length - COLLAPSED_COUNT} more`}
        </button>
      )}
    </div>
  );
}
