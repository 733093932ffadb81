// The hyper-parameter advisor (GET /runs/{id}/advisor, diagnosis/advisor.py): the Step
// Law prior for the peak learning rate and batch size from the run's size and tokens,
// compared with what the run uses, and the gradient noise scale when the agent reports it.

import { useAdvisor } from '../../api/queries';
import type { AdvisorResponse } from '../../api/types';
import { RecommendationList, ReferenceLinks } from '../../components/RecommendationList';
import { ErrorState, Loading } from '../../components/StateMessage';
import { formatNumber } from '../../format';

/** "3.2× the prior" / "0.4× the prior", and whether it is outside the broad optimum (2×). */
export function ratioText(ratio: number | undefined): { text: string; far: boolean } | null {
  if (ratio === undefined || !Number.isFinite(ratio) || ratio <= 0) return null;
  return { text: `${formatNumber(ratio, 2)}× the prior`, far: ratio > 2 || ratio < 0.5 };
}

function Fact({ label, value, note, testId }: { label: string; value: string; note?: string | null; testId?: string }) {
  return (
    <div className="fact" data-testid={testId}>
      <dt>{label}</dt>
      <dd className="num">
        {value}
        {note && <span className="muted"> {note}</span>}
      </dd>
    </div>
  );
}

function AdvisorPanel({ advice }: { advice: AdvisorResponse }) {
  const { inputs, step_law: law, gradient_noise_scale: gns } = advice;
  const lrRatio = ratioText(law?.lr_ratio);
  const batchRatio = ratioText(law?.batch_ratio);
  return (
    <div className="advisor" data-testid="advisor">
      {advice.note && <p className="advisor-note">{advice.note}</p>}
      <div className="advisor-grid">
        <section className="card">
          <h3 className="section-title">This run</h3>
          <dl className="facts-grid">
            <Fact label="Non-embedding parameters" value={formatNumber(inputs.non_embedding_params)} />
            <Fact label="Tokens (D)" value={formatNumber(inputs.tokens)} note={inputs.tokens_source ? `(${inputs.tokens_source})` : null} />
            <Fact label="Tokens per step" value={formatNumber(inputs.tokens_per_step)} />
            <Fact label="Peak learning rate" value={formatNumber(inputs.peak_lr)} testId="advisor-peak-lr" />
          </dl>
        </section>
        <section className="card">
          <h3 className="section-title">
            Step Law prior{' '}
            {law && (
              <span className={`pill ${law.in_fitted_regime ? 'pill-info' : 'pill-warning'}`}>
                {law.in_fitted_regime ? 'in fitted range' : 'extrapolated'}
              </span>
            )}
          </h3>
          {law ? (
            <dl className="facts-grid">
              <Fact label="η* (peak LR)" value={formatNumber(law.lr)} />
              <Fact label="Run vs η*" value={lrRatio?.text ?? '—'} note={lrRatio?.far ? 'outside 2×' : null} />
              <Fact label="B* (tokens per batch)" value={formatNumber(law.batch_tokens)} />
              <Fact label="Run vs B*" value={batchRatio?.text ?? '—'} note={batchRatio?.far ? 'outside 2×' : null} />
            </dl>
          ) : (
            <p className="muted">Not available for this run (see the note above).</p>
          )}
          <p className="muted formula">η* = 1.79·N^−0.713·D^0.307 · B* = 0.58·D^0.571</p>
        </section>
        <section className="card">
          <h3 className="section-title">Gradient noise scale</h3>
          {gns ? (
            <dl className="facts-grid">
              <Fact label="Critical batch (recent median)" value={formatNumber(gns.critical_batch)} />
              <Fact label="Measurements" value={formatNumber(gns.steps)} />
              <p className="muted">{gns.note}</p>
            </dl>
          ) : (
            <p className="muted">
              The run does not report <code>grad_noise_scale</code> (it needs per-rank and global gradient norms).
            </p>
          )}
        </section>
      </div>
      <section>
        <h3 className="section-title">Recommendations</h3>
        <RecommendationList items={advice.recommendations} emptyText="Nothing to change: the run is within the prior's broad optimum, or the prior does not apply." />
      </section>
      <ReferenceLinks references={advice.references} className="rec-refs advisor-refs" />
    </div>
  );
}

export function AdvisorTab({ id }: { id: string }) {
  const advice = useAdvisor(id);
  if (advice.isPending) return <Loading label="Computing advice…" />;
  if (advice.isError) return <ErrorState title="Could not compute advice" error={advice.error} />;
  return <AdvisorPanel advice={advice.data} />;
}
