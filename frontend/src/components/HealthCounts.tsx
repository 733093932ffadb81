import type { Health } from '../api/types';

const LEVELS = ['critical', 'warning', 'info'] as const;

/** Diagnosis counts by severity; zero counts stay in place but fade, so columns line up. */
export function HealthCounts({ health }: { health: Health | undefined }) {
  return (
    <span className="health">
      {LEVELS.map((level) => {
        const n = health?.[level] ?? 0;
        return (
          <span key={level} className={`pill pill-${level}${n === 0 ? ' is-zero' : ''}`} title={`${n} ${level}`}>
            {n}
          </span>
        );
      })}
    </span>
  );
}
