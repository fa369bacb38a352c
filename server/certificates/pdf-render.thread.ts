/**
 * Entry of the certificate render thread: renders each request and answers with its id.
 * Runs in a `worker_threads` Worker started by `pdf-renderer.ts`, never on the main thread.
 */
import { parentPort } from 'node:worker_threads';
import { writeCertificatePdf, type CertificatePdfData } from './certificate-pdf.js';

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
