import type { FastifyInstance, FastifyReply } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { currentUser } from '../../plugins/auth.js';
import { bearer, errors, Page } from '../../schemas/common.js';
import { pdfRenderer } from '../../certificates/pdf-renderer.js';
import { CertificateJson, CertificateListQuery, CertificateNumberParams, CertificatePdf, CertificateVerification } from './certificates.schemas.js';
import { certificatePdfFor, listMyCertificates, revokeCertificate, verifyCertificate } from './certificates.service.js';

export default async function certificateRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['certificates'];
  const deps = { config: app.config, renderer: pdfRenderer };

  app.get(
    '/certificates',
    {
      preHandler: app.authenticate,
      schema: {
        tags,
        summary: 'My certificates, newest first',
        description: 'A completed enrollment gets its certificate from a background job, usually within a second; `certificate:issued` announces it.',
        security: bearer,
        querystring: CertificateListQuery,
        response: { 200: Page(CertificateJson), ...errors(400, 401) },
      },
    },
    async (request) => listMyCertificates(request.em, deps, currentUser(request), request.query),
  );

  app.get(
    '/certificates/verify/:number',
    {
      schema: {
        tags,
        summary: 'Verify a certificate (public)',
        description: 'An unknown number is 404. A revoked certificate answers `valid: false, revoked: true`.',
        params: CertificateNumberParams,
        response: { 200: CertificateVerification, ...errors(400, 404) },
      },
    },
    async (request) => verifyCertificate(request.em, request.params.number),
  );

  app.get(
    '/certificates/:number/pdf',
    {
      preHandler: app.authenticate,
      schema: {
        tags,
        summary: 'The certificate PDF (the student, the course owner, admins)',
        description: 'Rendered again when its file is missing from storage.',
        security: bearer,
        params: CertificateNumberParams,
        response: { 200: CertificatePdf, ...errors(400, 401, 403, 404) },
      },
    },
    async (request, typedReply) => {
      // A stream: the response schema only documents it.
      const reply = typedReply as unknown as FastifyReply;
      const { key, certificate } = await certificatePdfFor(request.em, deps, currentUser(request), request.params.number);
      const info = await app.storage.stat(key);
      const stream = await app.storage.createReadStream(key);
      return reply
        .header('content-type', 'application/pdf')
        .header('content-disposition', `inline; filename="${certificate.certificate_number}.pdf"`)
        .header('x-content-type-options', 'nosniff')
        .header('cache-control', 'private, no-store')
        .header('content-length', info!.size)
        .send(stream);
    },
  );

  app.post(
    '/certificates/:number/revoke',
    {
      preHandler: app.authenticate,
      schema: {
        tags,
        summary: 'Revoke a certificate (the course owner, admins); idempotent',
        description: 'Verification then answers `valid: false, revoked: true`.',
        security: bearer,
        params: CertificateNumberParams,
        response: { 200: CertificateJson, ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => revokeCertificate(request.em, deps, currentUser(request), request.params.number),
  );
}
