// Coalesces bursts of config changes into one push: fire after `quietMs` without a new change,
// but never later than `maxWaitMs` after the first change of a burst, so a steady trickle of
// changes cannot starve proxies (the same two bounds as Istio's PILOT_DEBOUNCE_AFTER/MAX).
export interface DebounceOptions {
  readonly quietMs: number;
  readonly maxWaitMs: number;
}

export class Debouncer {
  private quietTimer: NodeJS.Timeout | undefined;
  private maxTimer: NodeJS.Timeout | undefined;
  private readonly options: DebounceOptions;
  private readonly fire: () => void;

  constructor(options: DebounceOptions, fire: () => void) {
    if (options.quietMs < 0 || options.maxWaitMs < options.quietMs) {
      throw new RangeError(
        `debounce: need 0 <= quiet (${options.quietMs}) <= max wait (${options.maxWaitMs})`,
      );
    }
    this.options = options;
    this.fire = fire;
  }

  /** Records a change. */
  trigger(): void {
    clearTimeout(this.quietTimer);
    this.quietTimer = setTimeout(() => this.flush(), this.options.quietMs);
    this.maxTimer ??= setTimeout(() => this.flush(), this.options.maxWaitMs);
  }

  /** Fires now if a change is pending. */
  flush(): void {
    if (this.maxTimer === undefined) return;
    this.cancel();
    this.fire();
  }

  cancel(): void {
    clearTimeout(this.quietTimer);
    clearTimeout(this.maxTimer);
    this.quietTimer = undefined;
    this.maxTimer = undefined;
  }
}
