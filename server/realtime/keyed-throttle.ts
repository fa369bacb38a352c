interface KeyState {
  lastRunAt: number;
  timer: NodeJS.Timeout | null;
  running: boolean;
  /** A request arrived while the key was cooling down or running. */
  pending: boolean;
}

/**
 * Runs `task(key)` at most once per `intervalMs` per key, on the leading and the trailing edge:
 * the first request runs at once, requests during the cool-down collapse into one run at its
 * end, so the last change is always reported. Runs of one key never overlap.
 */
export class KeyedThrottle {
  private readonly keys = new Map<string, KeyState>();
  private closed = false;

  constructor(
    private readonly intervalMs: number,
    private readonly task: (key: string) => Promise<void>,
    private readonly onError: (error: unknown, key: string) => void,
  ) {}

  request(key: string): void {
    if (this.closed) return;
    let state = this.keys.get(key);
    if (!state) this.keys.set(key, (state = { lastRunAt: 0, timer: null, running: false, pending: false }));
    if (state.running || state.timer) {
      state.pending = true;
      return;
    }
    const wait = state.lastRunAt + this.intervalMs - Date.now();
    if (wait <= 0) {
      void this.run(key, state);
    } else {
      state.pending = true;
      this.schedule(key, state, wait);
    }
  }

  /** Drops what is pending for `key` (its trailing run will not happen); a run in progress finishes. */
  forget(key: string): void {
    const state = this.keys.get(key);
    if (!state) return;
    if (state.timer) clearTimeout(state.timer);
    state.timer = null;
    state.pending = false;
    if (!state.running) this.keys.delete(key);
  }

  /** Cancels what is scheduled; later requests are ignored. */
  close(): void {
    this.closed = true;
    for (const state of this.keys.values()) if (state.timer) clearTimeout(state.timer);
    this.keys.clear();
  }

  private schedule(key: string, state: KeyState, wait: number) {
    state.timer = setTimeout(() => {
      state.timer = null;
      if (this.closed) return;
      if (state.pending) void this.run(key, state);
      else this.keys.delete(key);
    }, wait);
    state.timer.unref();
  }

  private async run(key: string, state: KeyState) {
    state.pending = false;
    state.running = true;
    state.lastRunAt = Date.now();
    try {
      await this.task(key);
    } catch (error) {
      this.onError(error, key);
    } finally {
      state.running = false;
      // Cool down even when nothing is pending, so a burst right after a run waits its turn;
      // the key is forgotten when the cool-down ends quietly.
      if (!this.closed) this.schedule(key, state, Math.max(0, state.lastRunAt + this.intervalMs - Date.now()));
    }
  }
}
