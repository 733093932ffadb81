import type { Diagnosis } from '../api/types';
import { formatInteger } from '../format';

/** Open and resolved diagnoses, most severe first. Renders nothing when there are none. */
export function DiagnosesList({ items }: { items: readonly Diagnosis[] | undefined }) {
  if (!items || items.length === 0) return null;
  const rank = { critical: 0, warning: 1, info: 2 } as const;
  const sorted = [...items].sort((a, b) => rank[a.severity] - rank[b.severity]);
  return (
    <section className="diagnoses" aria-label="Diagnoses">
      {sorted.map((d) => (
        <article key={d.id} className={`diagnosis diagnosis-${d.severity}${d.status === 'resolved' ? ' is-resolved' : ''}`}>
          <span className={`pill pill-${d.severity}`}>{d.severity}</span>
          <span className="diagnosis-rule mono">{d.rule}</span>
          <span className="diagnosis-summary">{d.summary}</span>
          <span className="muted num">
            steps {formatInteger(d.first_step)}–{formatInteger(d.last_step)}
          </span>
          {d.recommendations[0] && <span className="diagnosis-action">→ {d.recommendations[0].action}</span>}
        </article>
      ))}
    </section>
  );
}
