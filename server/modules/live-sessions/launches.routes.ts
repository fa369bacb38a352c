import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { currentUser } from '../../plugins/auth.js';
import { bearer, errors, IdParams } from '../../platform/schemas.js';
import { IdempotencyHeaders } from '../attempts/attempts.schemas.js';
import { ExtendBody, LaunchBody, LaunchCreatedJson, LaunchExtendedJson, LaunchJson, LaunchQuery } from './launches.schemas.js';
import { closeLaunch, extendLaunch, getLaunch, launchCsv, launchQuiz } from './launches.service.js';

export default async function launchRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['live sessions'];

  app.post(
    '/live-sessions/:id/launches',
    {
      preHandler: app.authenticate,
      schema: {
        tags,
        summary: 'Launch a quiz of the course to every student online, one shared window (owner, admin)',
        description:
          'Published or not. `durationSeconds` defaults to the quiz’s time limit (400 VALIDATION_ERROR when it has none); ' +
          '409 CONFLICT while a launch is open in the session or the session has ended. Students skipped are listed with a reason.',
        security: bearer,
        params: IdParams,
        body: LaunchBody,
        response: { 201: LaunchCreatedJson, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => reply.status(201).send(await launchQuiz(request.deps, currentUser(request), request.params.id, request.body)),
  );

  app.post(
    '/launches/:id/close',
    {
      preHandler: app.authenticate,
      schema: {
        tags,
        summary: 'Close a launch now: every running attempt is finished at once (owner, admin; idempotent)',
        security: bearer,
        params: IdParams,
        response: { 200: LaunchJson, ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => closeLaunch(request.deps, currentUser(request), request.params.id),
  );

  app.post(
    '/launches/:id/extend',
    {
      preHandler: app.authenticate,
      schema: {
        tags,
        summary: "Move a launch's shared close, or one student's deadline, by `seconds` (owner, admin); an Idempotency-Key makes a retry apply once",
        description:
          'Negative shortens. 409 DEADLINE_NOT_IN_FUTURE when the result would not be after now; 409 CONFLICT once the launch is closed; ' +
          'a replayed reply carries `idempotent-replayed: true`.',
        security: bearer,
        params: IdParams,
        headers: IdempotencyHeaders,
        body: ExtendBody,
        response: { 200: LaunchExtendedJson, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const result = await extendLaunch(request.deps, currentUser(request), request.params.id, request.body, request.headers['idempotency-key']);
      if (result.replayed) reply.header('idempotent-replayed', 'true');
      return reply.code(result.statusCode as 200).send(result.body);
    },
  );

  app.get(
    '/launches/:id',
    {
      preHandler: app.authenticate,
      schema: {
        tags,
        summary: 'A launch with live counts and, once every attempt is finished, its summary (owner, admin)',
        description:
          '`?format=csv` answers `text/csv` instead: one row per student (name, email, status, score, percentage, passed, submitted at, extra time).',
        security: bearer,
        params: IdParams,
        querystring: LaunchQuery,
        response: { 200: LaunchJson, ...errors(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const user = currentUser(request);
      if (request.query.format !== 'csv') return getLaunch(request.deps, user, request.params.id);
      const csv = await launchCsv(request.deps, user, request.params.id);
      return (
        reply
          .type('text/csv; charset=utf-8')
          .header('content-disposition', `attachment; filename="launch-${request.params.id}.csv"`)
          .serializer((body: unknown) => body as string)
          // Text, not the JSON schema's shape: the serializer above passes it through.
          .send(csv as never)
      );
    },
  );
}
