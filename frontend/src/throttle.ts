/**
 * A leading-and-trailing throttle: the first call runs at once; calls inside the next
 * `ms` collapse into one more run at the end of the window. Used to turn a burst of
 * live-update events into at most one refresh per window without delaying the first.
 */
export function throttle(fn: () => void, ms: number): { call: () => void; cancel: () => void } {
  let timer: ReturnType<typeof setTimeout> | null = null;
  let pending = false;
  const open = () => {
    timer = setTimeout(() => {
      timer = null;
      if (pending) {
        pending = false;
        fn();
        open();
      }
    }, ms);
  };
  return {
    call: () => {
      if (timer !== null) {
        pending = true;
        return;
      }
      fn();
      open();
    },
    cancel: () => {
      if (timer !== null) clearTimeout(timer);
      timer = null;
      pending = false;
    },
  };
}
