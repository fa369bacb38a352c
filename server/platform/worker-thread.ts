import { Worker } from 'node:worker_threads';
import type { Config } from '../config/config.js';
import type { Logger } from './logger.js';
import { threadEntry } from './thread-entry.js';

/** What the thread entry receives as `workerData`. */
export interface WorkerThreadData {
  config: Config;
}

/** Messages between the API process and its worker thread. */
export type WorkerThreadMessage = { type: 'ready' } | { type: 'close' } | { type: 'closed' };

const RESTART_MIN_MS = 1000;
const RESTART_MAX_MS = 30_000;

/**
 * The workers of `npm start`, in a thread of the API process: the same BullMQ workers and sweep
 * as `npm run worker`, on an event loop of their own, so jobs (SQL, BullMQ bookkeeping, PDFs)
 * never delay the API's requests and broadcasts. The entry is given by path (`workers/thread.ts`):
 * `server/` imports nothing from `workers/`. A thread that dies is started again, backing off from
 * one to thirty seconds; jobs it was running are retried by BullMQ's stalled-job recovery.
 */
export class WorkerThread {
  #worker: Worker | null = null;
  #closing = false;
  #restartMs = RESTART_MIN_MS;
  #restartTimer: NodeJS.Timeout | null = null;
  #ready: Promise<void>;
  #readyResolve!: () => void;

  constructor(
    private readonly entry: URL,
    private readonly config: Config,
    private readonly log: Logger,
  ) {
    this.#ready = new Promise((resolve) => (this.#readyResolve = resolve));
    this.#start();
  }

  /** Resolves once the thread's workers have started (the first time). */
  ready(): Promise<void> {
    return this.#ready;
  }

  /** Asks the thread to stop taking jobs and finish running ones; terminates it after `timeoutMs`. */
  async close(timeoutMs: number): Promise<void> {
    this.#closing = true;
    if (this.#restartTimer) clearTimeout(this.#restartTimer);
    const worker = this.#worker;
    if (!worker) return;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.postMessage({ type: 'close' } satisfies WorkerThreadMessage);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      exited.then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      this.log.warn({ timeoutMs }, 'worker thread still busy at shutdown; terminating it (running jobs go to stalled-job recovery)');
      await worker.terminate();
    }
  }

  #start(): void {
    const { url, execArgv } = threadEntry(this.entry);
    const worker = new Worker(url, { workerData: { config: this.config } satisfies WorkerThreadData, ...(execArgv ? { execArgv } : {}) });
    this.#worker = worker;
    worker.on('message', (message: WorkerThreadMessage) => {
      if (message.type !== 'ready') return;
      this.#restartMs = RESTART_MIN_MS;
      this.#readyResolve();
    });
    worker.on('error', (error) => this.log.error({ err: error }, 'worker thread failed'));
    worker.on('exit', (code) => {
      if (this.#worker === worker) this.#worker = null;
      if (this.#closing) return;
      this.log.error({ code, restartInMs: this.#restartMs }, 'worker thread exited; starting it again');
      this.#restartTimer = setTimeout(() => this.#start(), this.#restartMs);
      this.#restartTimer.unref();
      this.#restartMs = Math.min(this.#restartMs * 2, RESTART_MAX_MS);
    });
  }
}
