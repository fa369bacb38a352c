import type { FastifyInstance, FastifyReply } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { currentUser } from '../../plugins/auth.js';
import { bearer, errors, Page } from '../../platform/schemas.js';
import { validationError } from '../../platform/errors.js';
import {
  CertificateJson,
  CertificateListQuery,
  CertificateNumberParams,
  CertificatePdf,
  CertificatePdfQuery,
  CertificateVerification,
} from './certificates.schemas.js';
import { certificatePdfFor, listMyCertificates, revokeCertificate, verifyCertificate } from './certificates.service.js';

export default async function certificateRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['certificates'];

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
    async (request) => listMyCertificates(request.deps, currentUser(request), request.query),
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
    async (request) => verifyCertificate(request.deps, request.params.number),
  );

  app.get(
    '/certificates/:number/pdf',
    {
      preHandler: async (request, reply) => {
        // A signed link stands on its own: a stale Authorization header must not spoil it.
        const query = request.query;
        if (query.expires === undefined && query.signature === undefined) await app.authenticate.call(app, request, reply);
      },
      schema: {
        tags,
        summary: 'The certificate PDF (the student, the course owner, admins; or a signed link)',
        description:
          'With a bearer token: the student, the course owner and admins. Without one: with the `expires` and `signature` of ' +
          'the signed `pdfUrl` that `certificate:issued` and `GET /certificates` carry (valid `CERTIFICATE_URL_TTL_SECONDS`, ' +
          'default 7 days); an expired or altered link is 403. Rendered again when its file is missing from storage.',
        security: [...bearer, {}],
        params: CertificateNumberParams,
        querystring: CertificatePdfQuery,
        response: { 200: CertificatePdf, ...errors(400, 401, 403, 404) },
      },
    },
    async (request, typedReply) => {
      // A stream: the response schema only documents it.
      const reply = typedReply as unknown as FastifyReply;
      const { expires, signature } = request.query;
      if ((expires === undefined) !== (signature === undefined)) throw validationError('expires and signature go together');
      const access = expires !== undefined && signature !== undefined ? { signed: { expires, signature } } : { user: currentUser(request) };
      const { certificate, size, stream } = await certificatePdfFor(request.deps, access, request.params.number);
      // A signed link may be embedded (an <iframe> or <object> of the app) from another origin.
      if ('signed' in access) reply.header('cross-origin-resource-policy', 'cross-origin');
      return reply
        .header('content-type', 'application/pdf')
        .header('content-disposition', `inline; filename="${certificate.certificate_number}.pdf"`)
        .header('x-content-type-options', 'nosniff')
        .header('cache-control', 'private, no-store')
        .header('content-length', size)
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
    async (request) => revokeCertificate(request.deps, currentUser(request), request.params.number),
  );
}
