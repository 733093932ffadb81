// Ranked recommendations: the action, why (with the run's numbers), the concrete values,
// a line to paste when there is one, and the references behind it.

import type { Recommendation, Reference } from '../api/types';
import { codeOf, paramRows } from '../evidence';
import { CopyButton } from './CopyButton';

export function RecommendationList({
  items,
  emptyText = 'No recommendation: this is an observation.',
}: {
  items: readonly Recommendation[];
  emptyText?: string;
}) {
  if (items.length === 0) return <p className="muted">{emptyText}</p>;
  return (
    <ol className="recs">
      {items.map((rec, i) => {
        const code = codeOf(rec.params);
        const params = paramRows(rec.params);
        return (
          <li key={`${rec.action}-${i}`} className="rec" data-testid="recommendation">
            <div className="rec-head">
              <span className="rec-rank">{i + 1}</span>
              <span className="rec-action">{rec.action}</span>
            </div>
            <p className="rec-detail">{rec.detail}</p>
            {params.length > 0 && (
              <dl className="rec-params">
                {params.map((p) => (
                  <div key={p.name}>
                    <dt className="mono">{p.name}</dt>
                    <dd className="num mono">{p.text}</dd>
                  </div>
                ))}
              </dl>
            )}
            {code && (
              <div className="code-line">
                <pre className="mono" data-testid="rec-code">
                  {code}
                </pre>
                <CopyButton text={code} />
              </div>
            )}
            <ReferenceLinks references={rec.references} />
          </li>
        );
      })}
    </ol>
  );
}

/** The papers and guides behind a recommendation, opening in a new tab. */
export function ReferenceLinks({ references, className = 'rec-refs' }: { references: readonly Reference[]; className?: string }) {
  if (references.length === 0) return null;
  return (
    <div className={className}>
      {references.map((ref) => (
        <a key={ref.url} href={ref.url} target="_blank" rel="noreferrer noopener">
          {ref.title}
        </a>
      ))}
    </div>
  );
}
