import fp from 'fastify-plugin';
import { PdfRenderer } from '../platform/pdf/pdf-renderer.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Certificate PDFs rendered in a thread of this process (re-renders of a missing file). */
    pdf: PdfRenderer;
  }
}

/** The PDF renderer of this app: its thread starts on first use and stops when the app closes. */
export default fp(
  async (app) => {
    const pdf = new PdfRenderer();
    app.decorate('pdf', pdf);
    app.addHook('onClose', async () => pdf.close());
  },
  { name: 'pdf' },
);
