import type { Diagnosis, Severity } from '../api/types';
import { formatInteger } from '../format';

const ORDER: readonly Severity[] = ['critical', 'warning', 'info'];
const SHOWN = 3;

/**
 * The run's open diagnoses at a glance: counts by severity and the most severe ones in a
 * line each, with their first recommendation. A click opens the diagnoses tab.
 */
export function HealthSummary({ diagnoses, onOpen }: { diagnoses: readonly Diagnosis[] | undefined; onOpen: () => void }) {
  if (!diagnoses) return null;
  const open = diagnoses.filter((d) => d.status === 'open');
  if (open.length === 0) {
    const resolved = diagnoses.length;
    return (
      <section className="health-summary is-healthy" aria-label="Health" data-testid="health-summary">
        <span className="health-ok">No open diagnoses</span>
        {resolved > 0 && (
          <button type="button" className="link-button" onClick={onOpen}>
            {resolved} resolved
          </button>
        )}
      </section>
    );
  }
  const sorted = [...open].sort((a, b) => ORDER.indexOf(a.severity) - ORDER.indexOf(b.severity) || b.last_step - a.last_step);
  return (
    <section className="health-summary" aria-label="Health" data-testid="health-summary">
      <div className="health-counts">
        {ORDER.map((sev) => {
          const n = open.filter((d) => d.severity === sev).length;
          return n > 0 ? (
            <span key={sev} className={`pill pill-${sev}`}>
              {n} {sev}
            </span>
          ) : null;
        })}
      </div>
      <ul className="health-list">
        {sorted.slice(0, SHOWN).map((d) => (
          <li key={d.id} className={`sev-line sev-${d.severity}`}>
            <span className="mono">{d.rule}</span>
            <span className="health-line-summary">{d.summary}</span>
            <span className="muted num">
              steps {formatInteger(d.first_step)}–{formatInteger(d.last_step)}
            </span>
            {d.recommendations[0] && <span className="health-action">→ {d.recommendations[0].action}</span>}
          </li>
        ))}
      </ul>
      <button type="button" className="link-button health-more" onClick={onOpen}>
        {open.length > SHOWN ? `all ${open.length} diagnoses →` : 'details →'}
      </button>
    </section>
  );
}
