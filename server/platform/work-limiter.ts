import { AppError } from './errors.js';

/** 503 `UNAVAILABLE`: no slot for the work now; the error handler turns `retryAfter` into `retry-after`. */
export class BusyError extends AppError {
  constructor(
    message: string,
    readonly retryAfter: number,
  ) {
    super('UNAVAILABLE', message);
    this.name = 'BusyError';
  }
}

export interface WorkLimits {
  /** Runs at once. */
  concurrency: number;
  /** Waiting runs; one more is refused at once. */
  maxQueue: number;
  /** A run that waited this long without a slot is refused. */
  queueTimeoutMs: number;
  /** What the work is, for the refusal's message. */
  what: string;
}

interface Waiter {
  grant(): void;
  refuse(): void;
  timer: NodeJS.Timeout;
}

export interface RunOptions {
  /**
   * Waits ahead of every ordinary run, and when the queue is full takes the place of the
   * newest ordinary waiter (which is refused) rather than being refused itself.
   */
  priority?: boolean;
}

/**
 * A semaphore with a bounded, first-come queue and a wait timeout, for work that is expensive
 * enough that too much of it at once hurts everything else (argon2). Refusals are `BusyError`s.
 * Priority runs (logins from an address known to the account) go before ordinary ones, so a
 * flood of ordinary work delays them by at most the priority runs ahead of them.
 */
export class WorkLimiter {
  #active = 0;
  readonly #priority: Waiter[] = [];
  readonly #ordinary: Waiter[] = [];
  #refused = 0;

  constructor(readonly limits: WorkLimits) {}

  /** Runs holding a slot. */
  get active(): number {
    return this.#active;
  }

  /** Runs waiting for a slot. */
  get queued(): number {
    return this.#priority.length + this.#ordinary.length;
  }

  /** Runs refused since start (queue full or waited too long). */
  get refused(): number {
    return this.#refused;
  }

  async run<T>(work: () => Promise<T>, options: RunOptions = {}): Promise<T> {
    await this.#acquire(options.priority === true);
    try {
      return await work();
    } finally {
      this.#release();
    }
  }

  #busy(): BusyError {
    this.#refused++;
    const retryAfter = Math.max(1, Math.ceil(this.limits.queueTimeoutMs / 1000));
    return new BusyError(`The server is busy with ${this.limits.what}; retry in ${retryAfter} s`, retryAfter);
  }

  #acquire(priority: boolean): Promise<void> {
    if (this.#active < this.limits.concurrency) {
      this.#active++;
      return Promise.resolve();
    }
    if (this.queued >= this.limits.maxQueue) {
      const evicted = priority ? this.#ordinary.pop() : undefined;
      if (!evicted) return Promise.reject(this.#busy());
      evicted.refuse();
    }
    const queue = priority ? this.#priority : this.#ordinary;
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        // The slot passes straight from the releasing run to this one (`#active` unchanged), so
        // nobody arriving in between can take it.
        grant: () => {
          clearTimeout(waiter.timer);
          resolve();
        },
        refuse: () => {
          clearTimeout(waiter.timer);
          reject(this.#busy());
        },
        timer: setTimeout(() => {
          queue.splice(queue.indexOf(waiter), 1);
          reject(this.#busy());
        }, this.limits.queueTimeoutMs),
      };
      queue.push(waiter);
    });
  }

  #release(): void {
    const next = this.#priority.shift() ?? this.#ordinary.shift();
    if (next) next.grant();
    else this.#active--;
  }
}
