import type { FastifyInstance, FastifyReply, FastifySchemaCompiler } from 'fastify';
import multipart from '@fastify/multipart';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { AppError, forbidden, notFound, validationError } from '../../platform/errors.js';
import { currentUser, requireRole } from '../../plugins/auth.js';
import { bearer, errors, IdParams } from '../../platform/schemas.js';
import { validatorCompiler } from '../../platform/validation.js';
import { isInlineMedia, judgeContent } from './content-policy.js';
import { contentDisposition } from './filenames.js';
import { ContentQuery, FileBytes, FileJson, SignedUrl, UploadBody } from './files.schemas.js';
import { canDelete, canRead, courseForUpload, findFile, insertFile, readableFile, toFileJson } from './files.service.js';
import { parseRange } from './http-range.js';
import { deriveFileUrlKey, signFileUrl, verifyFileUrl } from '../../platform/signed-url.js';
import { MULTIPART_LIMITS, readUploadForm } from './upload-form.js';

const ACCESS =
  'Public files: anyone, even without a token. A course\'s files: the course\'s instructor and its active or completed ' +
  'enrollees. Otherwise: the uploader and admins. Anyone else gets 404, as if the file did not exist.';

/** The multipart body is read by the handler (streamed, checked by content); the schema only documents it. */
const documentOnlyBody: FastifySchemaCompiler<object> = (route) =>
  route.httpPart === 'body' ? () => true : validatorCompiler(route);

/** `POST /files`, `GET /files/:id`, `GET /files/:id/content`, `GET /files/:id/url`, `DELETE /files/:id`. */
export default async function filesRoutes(fastify: FastifyInstance) {
  // Encapsulated: only these routes accept multipart bodies.
  await fastify.register(multipart, { limits: MULTIPART_LIMITS, throwFileSizeLimit: false });

  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { uploadAllowedTypes, fileUrlTtlSeconds, publicUrl, uploadMaxBytes } = app.config;
  const urlKey = deriveFileUrlKey(app.config.jwtSecret);

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
      const user = currentUser(request);
      const { fields, upload } = await readUploadForm(request, app.storage, uploadMaxBytes);
      let stored = false;
      try {
        if (fields.courseId) await courseForUpload(request.em, fields.courseId, user);
        const verdict = judgeContent(upload.sample, uploadAllowedTypes);
        if (!verdict.accepted) throw new AppError('UNSUPPORTED_MEDIA_TYPE', verdict.reason);

        const key = await app.storage.put({ tempPath: upload.tempPath }, { folder: fields.folder, extension: verdict.extension });
        stored = true;
        try {
          const file = await insertFile(request.em, {
            storageProvider: app.storage.provider,
            storagePath: key,
            originalFilename: upload.originalFilename,
            mimeType: verdict.mime,
            category: verdict.category,
            size: upload.size,
            folder: fields.folder,
            isPublic: fields.isPublic,
            courseId: fields.courseId,
            uploaderId: user.id,
          });
          return reply.status(201).send(toFileJson(file));
        } catch (error) {
          await app.storage.delete(key);
          throw error;
        }
      } finally {
        if (!stored) await app.storage.discardTemp(upload.tempPath);
      }
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
    async (request) => toFileJson(await readableFile(request.em, request.params.id, request.auth)),
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
        const query = request.query as { expires?: number; signature?: string };
        if (query.expires === undefined && query.signature === undefined) await app.optionalAuth.call(app, request, reply);
      },
    },
    async (request, typedReply) => {
      // Streams and a hand-made 416 body: the response schemas only document these.
      const reply = typedReply as unknown as FastifyReply;
      const { id } = request.params;
      const { expires, signature } = request.query;
      let signed = false;
      let file;
      if (expires !== undefined || signature !== undefined) {
        if (expires === undefined || signature === undefined) throw validationError('expires and signature go together');
        const check = verifyFileUrl(urlKey, id, expires, signature, Math.floor(Date.now() / 1000));
        if (check !== 'valid') throw forbidden(check === 'expired' ? 'This link has expired' : 'This link is not valid');
        file = await findFile(request.em, id);
        if (!file) throw notFound('File');
        signed = true;
      } else {
        file = await readableFile(request.em, id, request.auth);
      }

      const info = await app.storage.stat(file.storagePath);
      if (!info) {
        request.log.error({ fileId: file.id, key: file.storagePath }, 'file content missing from storage');
        throw notFound('File content');
      }
      const mime = file.mimeType ?? 'application/octet-stream';
      reply
        .header('content-type', mime.startsWith('text/') ? `${mime}; charset=utf-8` : mime)
        .header('x-content-type-options', 'nosniff')
        .header('content-disposition', contentDisposition(isInlineMedia(mime) ? 'inline' : 'attachment', file.originalFilename))
        .header('accept-ranges', 'bytes')
        .header('cache-control', file.isPublic ? 'public, max-age=300' : 'private, no-store')
        .header('last-modified', file.createdAt.toUTCString());
      // Public files and signed URLs are meant for <img>/<video> on the client's own origin.
      if (file.isPublic || signed) reply.header('cross-origin-resource-policy', 'cross-origin');

      const range = parseRange(request.headers.range, info.size);
      if (range.kind === 'unsatisfiable') {
        return reply
          .status(416)
          .header('content-range', `bytes */${info.size}`)
          .header('content-type', 'application/json; charset=utf-8')
          .header('content-disposition', null)
          .send({ statusCode: 416, error: 'Range Not Satisfiable', code: 'VALIDATION_ERROR', message: `The file has ${info.size} bytes` });
      }
      if (range.kind === 'partial') {
        const stream = await app.storage.createReadStream(file.storagePath, range);
        return reply
          .status(206)
          .header('content-range', `bytes ${range.start}-${range.end}/${info.size}`)
          .header('content-length', range.end - range.start + 1)
          .send(stream);
      }
      const stream = await app.storage.createReadStream(file.storagePath);
      return reply.header('content-length', info.size).send(stream);
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
    async (request) => {
      const file = await readableFile(request.em, request.params.id, request.auth);
      const expires = Math.floor(Date.now() / 1000) + fileUrlTtlSeconds;
      const signature = signFileUrl(urlKey, file.id, expires);
      return {
        url: `${publicUrl}/api/files/${file.id}/content?expires=${expires}&signature=${signature}`,
        expiresAt: new Date(expires * 1000).toISOString(),
      };
    },
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
      const user = currentUser(request);
      const file = await findFile(request.em, request.params.id);
      if (!file || !(await canRead(request.em, file, user))) throw notFound('File');
      if (!canDelete(file, user)) throw forbidden('Only the uploader or an admin can delete this file');
      const key = file.storagePath;
      await request.em.remove(file).flush();
      try {
        await app.storage.delete(key);
      } catch (error) {
        // The row is gone, so nothing serves these bytes any more; they are only wasted space.
        request.log.error({ err: error, key }, 'could not delete the bytes of a deleted file');
      }
      return reply.status(204).send(null);
    },
  );
}
