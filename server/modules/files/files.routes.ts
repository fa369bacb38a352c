import type { FastifyInstance, FastifyReply, FastifySchemaCompiler } from 'fastify';
import multipart from '@fastify/multipart';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { AppError } from '../../platform/errors.js';
import { currentUser, requireRole } from '../../plugins/auth.js';
import { bearer, errors, IdParams } from '../../platform/schemas.js';
import { validatorCompiler } from '../../platform/validation.js';
import { ContentQuery, FileBytes, FileJson, SignedUrl, UploadBody } from './files.schemas.js';
import { deleteFile, openFileContent, readableFile, signedFileUrl, toFileJson, uploadFile } from './files.service.js';
import { MULTIPART_LIMITS } from './upload-form.js';

const ACCESS =
  "Public files: anyone, even without a token. A course's files: the course's instructor and its active or completed " +
  'enrollees. Otherwise: the uploader and admins. Anyone else gets 404, as if the file did not exist.';

/** The multipart body is read by the handler (streamed, checked by content); the schema only documents it. */
const documentOnlyBody: FastifySchemaCompiler<object> = (route) => (route.httpPart === 'body' ? () => true : validatorCompiler(route));

/** `POST /files`, `GET /files/:id`, `GET /files/:id/content`, `GET /files/:id/url`, `DELETE /files/:id`. */
export default async function filesRoutes(fastify: FastifyInstance) {
  // Encapsulated: only these routes accept multipart bodies.
  await fastify.register(multipart, { limits: MULTIPART_LIMITS, throwFileSizeLimit: false });

  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  app.post(
    '/files',
    {
      schema: {
        tags: ['files'],
        summary: 'Upload a file (instructor, admin)',
        description:
          `multipart/form-data with one \`file\` and optional \`folder\`, \`isPublic\`, \`courseId\`. The type is detected from the ` +
          `bytes (magic numbers), never from the name or the Content-Type; allowed by default: images except SVG, PDF, common video ` +
          `and audio, plain UTF-8 text (not HTML/SVG/XML), zip (\`UPLOAD_ALLOWED_TYPES\`). Others: 415 \`UNSUPPORTED_MEDIA_TYPE\`. ` +
          `Over \`UPLOAD_MAX_BYTES\`: 413 \`PAYLOAD_TOO_LARGE\`. A refused upload leaves nothing on disk. The bytes are stored ` +
          `under a generated name; the original name is kept as data only.`,
        consumes: ['multipart/form-data'],
        security: bearer,
        body: UploadBody,
        response: { 201: FileJson, ...errors(400, 401, 403, 404, 413, 415) },
      },
      validatorCompiler: documentOnlyBody,
      preHandler: [app.authenticate, requireRole('instructor', 'admin')],
    },
    async (request, reply) => {
      if (!request.isMultipart()) throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'Send the file as multipart/form-data');
      const parts = request.parts({ limits: { ...MULTIPART_LIMITS, fileSize: app.config.uploadMaxBytes + 1 } });
      return reply.status(201).send(await uploadFile(request.deps, currentUser(request), parts));
    },
  );

  app.get(
    '/files/:id',
    {
      schema: {
        tags: ['files'],
        summary: "A file's metadata",
        description: ACCESS,
        security: [...bearer, {}],
        params: IdParams,
        response: { 200: FileJson, ...errors(400, 401, 404) },
      },
      preHandler: app.optionalAuth,
    },
    async (request) => toFileJson(await readableFile(request.deps, request.params.id, request.auth)),
  );

  app.get(
    '/files/:id/content',
    {
      schema: {
        tags: ['files'],
        summary: "A file's bytes",
        description:
          `${ACCESS} Or, without a token, with the \`expires\` and \`signature\` of a signed URL (\`GET /files/:id/url\`); an ` +
          `expired or altered one is 403. Sent with the detected MIME type, \`X-Content-Type-Options: nosniff\`, and ` +
          `\`Content-Disposition: attachment\` except for images, video and audio (\`inline\`). Supports one \`Range: bytes=…\` ` +
          `(206 with \`Content-Range\`; 416 when it starts past the end); several ranges get the whole file.`,
        security: [...bearer, {}],
        params: IdParams,
        querystring: ContentQuery,
        response: { 200: FileBytes, 206: FileBytes, ...errors(400, 401, 403, 404, 416) },
      },
      preHandler: async (request, reply) => {
        // A signed URL stands on its own: a stale Authorization header must not spoil it.
        const query = request.query;
        if (query.expires === undefined && query.signature === undefined) await app.optionalAuth.call(app, request, reply);
      },
    },
    async (request, typedReply) => {
      // Streams and a hand-made 416 body: the response schemas only document these.
      const reply = typedReply as unknown as FastifyReply;
      const content = await openFileContent(request.deps, request.auth, request.params.id, request.query, request.headers.range);
      return reply
        .status(content.status)
        .headers(content.headers)
        .send('stream' in content ? content.stream : content.body);
    },
  );

  app.get(
    '/files/:id/url',
    {
      schema: {
        tags: ['files'],
        summary: 'A short-lived signed URL of the content',
        description:
          `For \`<video src>\`, \`<img src>\` and links, which cannot send a Bearer header. Whoever may read the file gets one; ` +
          `it works for anyone holding it until \`expiresAt\` (\`FILE_URL_TTL_SECONDS\`, default 300), also across a later ` +
          `change of access. ${ACCESS}`,
        security: [...bearer, {}],
        params: IdParams,
        response: { 200: SignedUrl, ...errors(400, 401, 404) },
      },
      preHandler: app.optionalAuth,
    },
    async (request) => signedFileUrl(request.deps, request.auth, request.params.id),
  );

  app.delete(
    '/files/:id',
    {
      schema: {
        tags: ['files'],
        summary: 'Delete a file and its bytes (uploader, admin)',
        description: 'Those who may read the file but not delete it get 403; those who may not read it, 404.',
        security: bearer,
        params: IdParams,
        response: { 204: { type: 'null', description: 'Deleted' }, ...errors(400, 401, 403, 404) },
      },
      preHandler: app.authenticate,
    },
    async (request, reply) => {
      await deleteFile(request.deps, currentUser(request), request.params.id);
      return reply.status(204).send(null);
    },
  );
}
