// A diagnosis's evidence: each statistic against the threshold it crossed (with a gauge),
// then the other fields, then event tables (spikes).

import { evidenceRows, evidenceTables, evidenceText, gauge, humanize, thresholdPairs } from '../evidence';
import { formatNumber } from '../format';

const MAX_EVENT_ROWS = 8;

export function EvidenceBlock({ evidence }: { evidence: Record<string, unknown> }) {
  const pairs = thresholdPairs(evidence);
  const rows = evidenceRows(evidence);
  const tables = evidenceTables(evidence);
  return (
    <div className="evidence">
      {typeof evidence.signal === 'string' && (
        <div className="evidence-signal">
          signal <code>{evidence.signal}</code>
        </div>
      )}
      {pairs.map((pair) => {
        const g = gauge(pair);
        return (
          <div key={pair.threshold} className="threshold" data-testid="threshold">
            <span className="threshold-text">
              {humanize(pair.statistic)} <b className="num">{formatNumber(pair.value)}</b>
              <span className="muted"> vs {humanize(pair.threshold)} </span>
              <b className="num">{formatNumber(pair.limit)}</b>
            </span>
            <span className="gauge" aria-hidden="true">
              <span className="gauge-fill" style={{ width: `${g.statistic * 100}%` }} />
              <span className="gauge-limit" style={{ left: `${g.threshold * 100}%` }} />
            </span>
          </div>
        );
      })}
      {rows.length > 0 && (
        <dl className="evidence-rows">
          {rows.map((row) => (
            <div key={row.key}>
              <dt>{row.label}</dt>
              <dd className="mono">{row.text}</dd>
            </div>
          ))}
        </dl>
      )}
      {tables.map((t) => (
        <table key={t.key} className="table table-compact">
          <caption>
            {humanize(t.key)}
            {t.rows.length > MAX_EVENT_ROWS && <span className="muted"> (last {MAX_EVENT_ROWS} of {t.rows.length})</span>}
          </caption>
          <thead>
            <tr>
              {t.columns.map((c) => (
                <th key={c} className="num">
                  {humanize(c)}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {t.rows.slice(-MAX_EVENT_ROWS).map((r, i) => (
              <tr key={i}>
                {t.columns.map((c) => (
                  <td key={c} className="num">
                    {evidenceText(c, r[c])}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      ))}
    </div>
  );
}
