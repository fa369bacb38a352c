import { Worker } from 'node:worker_threads';
import { threadEntry } from '../thread-entry.js';
import type { CertificatePdfData } from './certificate-pdf.js';
import type { RenderRequest, RenderResponse } from './pdf-render.thread.js';

/** How long an idle render thread is kept before it is stopped (it is restarted on demand). */
const IDLE_MS = 60_000;

interface Pending {
  resolve: () => void;
  reject: (error: Error) => void;
}

/**
 * Renders certificate PDFs in one worker thread per process, so that pdfkit's CPU work never
 * blocks an event loop that also serves HTTP and sockets (workers run in the API process with
 * `npm start`). The thread starts on first use and stops when idle; a thread that crashes
 * fails the renders it had (the job retries) and the next render starts a new one.
 */
export class PdfRenderer {
  #worker: Worker | null = null;
  /** Settles once the current thread has loaded its modules. */
  #ready: Promise<void> = Promise.resolve();
  #pending = new Map<number, Pending>();
  #nextId = 1;
  #idleTimer: NodeJS.Timeout | null = null;
  /** Set by `warmUp`: a process that runs certificate jobs keeps its thread. */
  #keepAlive = false;

  /** Writes the PDF of `data` to `path` (which must not exist yet). */
  render(data: CertificatePdfData, path: string): Promise<void> {
    const worker = this.#thread();
    const id = this.#nextId++;
    const done = new Promise<void>((resolve, reject) => this.#pending.set(id, { resolve, reject }));
    this.#busy();
    worker.postMessage({ id, data, path } satisfies RenderRequest);
    return done;
  }

  /** Starts the thread now (so the first certificate does not wait for it) and keeps it while idle. */
  warmUp(): void {
    this.#keepAlive = true;
    this.#thread();
    if (this.#pending.size === 0) this.#idle();
  }

  /** Resolves once the thread (started now if need be) is ready to render. */
  ready(): Promise<void> {
    this.#thread();
    return this.#ready;
  }

  /** Stops the thread; pending renders fail. */
  async close(): Promise<void> {
    this.#keepAlive = false;
    const worker = this.#worker;
    this.#worker = null;
    if (this.#idleTimer) clearTimeout(this.#idleTimer);
    this.#idleTimer = null;
    this.#failAll(new Error('PDF renderer closed'));
    if (worker) await worker.terminate();
  }

  #thread(): Worker {
    if (this.#worker) return this.#worker;
    // The path, not the whole URL: loaded through tsx's `tsImport` (the worker thread of `npm start`),
    // this module's URL ends in `?tsx-namespace=…`.
    const source = new URL(import.meta.url).pathname.endsWith('.ts');
    const { url, execArgv } = threadEntry(new URL(source ? './pdf-render.thread.ts' : './pdf-render.thread.js', import.meta.url));
    const worker = new Worker(url, execArgv ? { execArgv } : {});
    let loaded!: () => void;
    let failed!: (error: Error) => void;
    this.#ready = new Promise<void>((resolve, reject) => {
      loaded = resolve;
      failed = reject;
    });
    // Nobody may be waiting for readiness; a failure also reaches the pending renders.
    this.#ready.catch(() => undefined);
    worker.on('message', (response: RenderResponse) => {
      if ('ready' in response) return loaded();
      const pending = this.#pending.get(response.id);
      if (!pending) return;
      this.#pending.delete(response.id);
      if (response.ok) pending.resolve();
      else pending.reject(new Error(`PDF rendering failed: ${response.message}`));
      if (this.#pending.size === 0) this.#idle();
    });
    const lost = (error: Error) => {
      failed(error);
      if (this.#worker !== worker) return;
      this.#worker = null;
      this.#failAll(error);
    };
    worker.on('error', lost);
    worker.on('exit', (code) => lost(new Error(`PDF render thread exited with code ${code}`)));
    this.#worker = worker;
    return worker;
  }

  /** While renders are pending the thread keeps the process alive; idle, it does not. */
  #busy(): void {
    if (this.#idleTimer) clearTimeout(this.#idleTimer);
    this.#idleTimer = null;
    this.#worker?.ref();
  }

  #idle(): void {
    this.#worker?.unref();
    if (this.#idleTimer) clearTimeout(this.#idleTimer);
    this.#idleTimer = null;
    if (this.#keepAlive) return;
    this.#idleTimer = setTimeout(() => void this.#stopIdle(), IDLE_MS);
    this.#idleTimer.unref();
  }

  async #stopIdle(): Promise<void> {
    if (this.#pending.size > 0 || this.#keepAlive) return;
    const worker = this.#worker;
    this.#worker = null;
    this.#idleTimer = null;
    if (worker) await worker.terminate();
  }

  #failAll(error: Error): void {
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const { reject } of pending) reject(error);
  }
}
