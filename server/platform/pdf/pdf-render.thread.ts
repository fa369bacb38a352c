/**
 * Entry of the certificate render thread: renders each request and answers with its id.
 * Runs in a `worker_threads` Worker started by `pdf-renderer.ts`, never on the main thread.
 */
import { getPriority, setPriority } from 'node:os';
import { parentPort } from 'node:worker_threads';
import { writeCertificatePdf, type CertificatePdfData } from './certificate-pdf.js';

/**
 * Niceness of the render thread. Rendering is background work: where it shares a core with the
 * process's event loop (a small machine, or an API instance running its workers), the scheduler
 * should run the event loop first rather than split the core evenly, or a classroom broadcast
 * waits behind pdfkit (`npm run bench`, scenario 8(b)). 10 leaves the thread about a tenth of a contended core.
 */
const RENDER_NICE = 10;
// On Linux each thread has its own nice value and this sets this thread's only; elsewhere it would
// apply to the whole process, so it is left alone. Never raised (that needs privileges anyway).
if (process.platform === 'linux') {
  try {
    setPriority(Math.max(getPriority(), RENDER_NICE));
  } catch {
    // Not permitted here: render at the process's priority.
  }
}

export interface RenderRequest {
  id: number;
  data: CertificatePdfData;
  path: string;
}

export type RenderResponse = { id: number; ok: true } | { id: number; ok: false; message: string } | { ready: true };

if (!parentPort) throw new Error('pdf-render.thread.ts runs in a worker thread');
const port = parentPort;

port.on('message', (request: RenderRequest) => {
  writeCertificatePdf(request.data, request.path).then(
    () => port.postMessage({ id: request.id, ok: true } satisfies RenderResponse),
    (error: Error) => port.postMessage({ id: request.id, ok: false, message: error.message } satisfies RenderResponse),
  );
});

// Loaded (pdfkit included): the renderer may report the thread ready.
port.postMessage({ ready: true } satisfies RenderResponse);
