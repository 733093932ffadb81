// Per-layer view: a heatmap of one family (layers × step buckets, log colour) and the
// layer table. Shares the zoom with the charts tab (the URL's range). Clicking a cell or
// a layer name opens that layer's series in the charts tab.

import { useMemo } from 'react';
import { useMatrix } from '../../api/queries';
import type { Run } from '../../api/types';
import { heatmapPoints } from '../../charts/budget';
import { colourScale } from '../../charts/heatmap';
import { layerRows } from '../../charts/layerStats';
import { ColourLegend } from '../../components/ColourLegend';
import { Heatmap } from '../../components/Heatmap';
import { LayerTable } from '../../components/LayerTable';
import { EmptyState, ErrorState, Loading } from '../../components/StateMessage';
import { ZoomBar } from '../../components/ZoomBar';
import { useElementWidth } from '../../hooks/useElementWidth';
import { availableFamilies } from '../../metrics';
import type { TabProps } from './types';

/** The server's limit on layers × buckets per matrix (query/service.py MAX_CELLS). */
export const MATRIX_MAX_CELLS = 1_000_000;


export function LayersTab({ id, poll, keys, keysPending, view, updateView, theme, run }: TabProps & { run: Run }) {
  const [hostRef, width] = useElementWidth<HTMLDivElement>();
  const families = useMemo(() => availableFamilies(keys ?? []), [keys]);
  const chosen = families.find((f) => f.family.prefix === view.family) ?? families[0];
  const family = chosen?.family ?? null;
  // The server caps a matrix at MATRIX_MAX_CELLS cells: very deep models get coarser buckets.
  const points = Math.min(heatmapPoints(width), Math.floor(MATRIX_MAX_CELLS / Math.max(1, chosen?.layers ?? 1)));
  const matrix = useMatrix(id, family?.prefix ?? null, points, view.range, family?.agg ?? 'max', poll);
  const scale = useMemo(() => (matrix.data ? colourScale(matrix.data.values) : null), [matrix.data]);
  const rows = useMemo(() => (matrix.data ? layerRows(matrix.data) : []), [matrix.data]);
  const endStep = view.range ? view.range.end : run.last_step === null ? null : run.last_step + 1;

  const open = (layer: string) => updateView({ tab: 'charts', keys: [`${family?.prefix ?? ''}${layer}`] });

  let body;
  if (keysPending) body = <Loading label="Loading metric names…" />;
  else if (!family) {
    body = (
      <EmptyState title="No per-layer metrics in this run">
        Per-layer gradient norms and update ratios come from <code>run.watch(model, optimizer)</code>; activation
        statistics need <code>activations=True</code>.
      </EmptyState>
    );
  } else if (matrix.isError && !matrix.data) {
    body = <ErrorState title={`Could not load the ${family.label.toLowerCase()} matrix`} error={matrix.error} />;
  } else if (!matrix.data) {
    body = <Loading label={`Loading ${family.label.toLowerCase()} for ${chosen?.layers ?? 0} layers…`} />;
  } else if (matrix.data.step.length === 0) {
    body = <EmptyState title={view.range ? 'No data in this step range' : 'No data yet'} />;
  } else {
    body = (
      <>
        <Heatmap
          matrix={matrix.data}
          scale={scale}
          theme={theme}
          endStep={endStep}
          onSelect={(layer) => open(layer)}
        />
        <LayerTable rows={rows} onSelect={open} />
      </>
    );
  }

  return (
    <div ref={hostRef} className="layers-tab">
      <div className="tab-toolbar">
        <div className="segmented" role="group" aria-label="Layer metric">
          {families.map(({ family: f, layers }) => (
            <button
              key={f.prefix}
              type="button"
              className={`toggle toggle-lg${f.prefix === family?.prefix ? ' is-on' : ''}`}
              aria-pressed={f.prefix === family?.prefix}
              data-family={f.prefix}
              onClick={() => updateView({ family: f.prefix }, { replace: true })}
              title={`${f.prefix}<layer> · ${layers} layers · bucket ${f.agg}`}
            >
              {f.label}
            </button>
          ))}
        </div>
        {family && <ColourLegend scale={scale} theme={theme} />}
        <ZoomBar range={view.range} onReset={() => updateView({ range: null })} />
        {matrix.isFetching && matrix.isPlaceholderData && <span className="muted refining">loading…</span>}
      </div>
      {family && (
        <p className="muted tab-note">
          Each cell is the bucket <b>{family.agg}</b> of <code>{family.prefix}&lt;layer&gt;</code>; rows in model order. Click
          a cell or a layer to chart it.
        </p>
      )}
      {body}
    </div>
  );
}
