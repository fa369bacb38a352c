/**
 * Admits client events while the instance serves them, and counts those running (from the
 * handler's start to its ack being written), so that a shutdown can stop taking events, let the
 * running ones ack, and only then close the connections.
 */
export class EventGate {
  private open = true;
  private running = 0;
  private waiters: Array<() => void> = [];

  get isOpen(): boolean {
    return this.open;
  }

  /** Counts one event in; false (nothing counted) once closed: answer it SERVICE_UNAVAILABLE. */
  enter(): boolean {
    if (!this.open) return false;
    this.running++;
    return true;
  }

  /** An admitted event has acked (or failed to). */
  leave(): void {
    if (this.running > 0) this.running--;
    if (this.running === 0) for (const resolve of this.waiters.splice(0)) resolve();
  }

  /** Stops admitting events; resolves true once the running ones are done, false after `timeoutMs`. */
  async close(timeoutMs: number): Promise<boolean> {
    this.open = false;
    if (this.running === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const done = await Promise.race([
      new Promise<true>((resolve) => this.waiters.push(() => resolve(true))),
      new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    return done;
  }
}
