import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { currentUser } from '../../plugins/auth.js';
import { bearer, errors, IdParams, NoContent } from '../../platform/schemas.js';
import { OverrideBody, OverrideJson, OverrideListJson, OverrideParams } from './overrides.schemas.js';
import { deleteOverride, listOverrides, putOverride } from './overrides.service.js';

export default async function overrideRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['quizzes'];

  app.put(
    '/quizzes/:id/overrides/:studentId',
    {
      preHandler: app.authenticate,
      schema: {
        tags,
        summary: "Set a student's extra attempts and extra time on this quiz (owner, admin)",
        description:
          'The student must be enrolled (404 otherwise). applyToRunning moves the running attempt by the change in extraTimeSeconds. keyRevealed says whether the student has already seen the answer key.',
        security: bearer,
        params: OverrideParams,
        body: OverrideBody,
        response: { 200: OverrideJson, ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => putOverride(request.deps, currentUser(request), request.params.id, request.params.studentId, request.body),
  );

  app.delete(
    '/quizzes/:id/overrides/:studentId',
    {
      preHandler: app.authenticate,
      schema: {
        tags,
        summary: "Remove a student's override (owner, admin); running attempts keep their deadline",
        security: bearer,
        params: OverrideParams,
        response: { 204: NoContent, ...errors(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      await deleteOverride(request.deps, currentUser(request), request.params.id, request.params.studentId);
      return reply.status(204).send(null);
    },
  );

  app.get(
    '/quizzes/:id/overrides',
    {
      preHandler: app.authenticate,
      schema: {
        tags,
        summary: "The quiz's per-student overrides (owner, admin)",
        security: bearer,
        params: IdParams,
        response: { 200: OverrideListJson, ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => listOverrides(request.deps, currentUser(request), request.params.id),
  );
}
