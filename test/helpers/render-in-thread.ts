import { parentPort, workerData } from 'node:worker_threads';
import { PdfRenderer } from '../../server/platform/pdf/pdf-renderer.js';
import type { CertificatePdfData } from '../../server/platform/pdf/certificate-pdf.js';

/** A thread that renders one PDF with its own `PdfRenderer`, as the worker thread of `npm start` does (test/workers/pdf-renderer.test.ts). */
const { data, path } = workerData as { data: CertificatePdfData; path: string };
const renderer = new PdfRenderer();
try {
  await renderer.render(data, path);
  parentPort!.postMessage({ ok: true });
} catch (error) {
  parentPort!.postMessage({ ok: false, message: (error as Error).message });
} finally {
  await renderer.close();
}
