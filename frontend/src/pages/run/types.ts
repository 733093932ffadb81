import type { ChartTheme } from '../../charts/theme';
import type { UpdateView } from '../../hooks/useRunView';
import type { RunView } from '../../viewState';

/** What every run tab receives from the run page. */
export interface TabProps {
  id: string;
  live: boolean;
  /** Poll (the event stream is down while the run is live). */
  poll: boolean;
  /** The run's metric names; undefined while loading. */
  keys: readonly string[] | undefined;
  keysPending: boolean;
  view: RunView;
  updateView: UpdateView;
  theme: ChartTheme;
}
