import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { currentUser } from '../../plugins/auth.js';
import { bearer, errors, IdParams } from '../../platform/schemas.js';
import { AnswerBody, AnswerParams, AttemptJson, ExtendBody, ExtendedAttemptJson, IdempotencyHeaders, SavedAnswerJson, SubmitBody } from './attempts.schemas.js';
import { extendAttempt, getAttempt, saveAnswer, submitAttempt } from './attempts.service.js';

export default async function attemptRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['attempts'];

  app.get(
    '/attempts/:id',
    {
      preHandler: app.authenticate,
      schema: {
        tags,
        summary: 'An attempt (its student, the course owner, admins)',
        security: bearer,
        params: IdParams,
        response: { 200: AttemptJson, ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => getAttempt(request.deps, currentUser(request), request.params.id),
  );

  app.put(
    '/attempts/:id/answers/:questionId',
    {
      preHandler: app.authenticate,
      schema: {
        tags,
        summary: 'Autosave one answer (idempotent); 409 QUIZ_TIME_EXPIRED past deadline + grace',
        security: bearer,
        params: AnswerParams,
        body: AnswerBody,
        response: { 200: SavedAnswerJson, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (request) => saveAnswer(request.deps, currentUser(request), request.params.id, request.params.questionId, request.body.answer),
  );

  app.post(
    '/attempts/:id/submit',
    {
      preHandler: app.authenticate,
      schema: {
        tags,
        summary: 'Submit and grade at once (idempotent); past the submit window + grace returns the attempt as its overdue policy finished it',
        security: bearer,
        params: IdParams,
        body: SubmitBody,
        response: { 200: AttemptJson, ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => submitAttempt(request.deps, currentUser(request), request.params.id, request.body?.answers),
  );

  app.post(
    '/attempts/:id/extend',
    {
      preHandler: app.authenticate,
      schema: {
        tags,
        summary: "Move a running timed attempt's deadline by `seconds` (course owner, admin); an Idempotency-Key makes a retry apply once",
        description:
          '409 CONFLICT when the attempt is finished or untimed; 409 DEADLINE_NOT_IN_FUTURE when the new deadline would not be after now. The student and the instructors hear quiz:deadline-changed.',
        security: bearer,
        params: IdParams,
        headers: IdempotencyHeaders,
        body: ExtendBody,
        response: { 200: ExtendedAttemptJson, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const result = await extendAttempt(request.deps, currentUser(request), request.params.id, request.body.seconds, request.headers['idempotency-key']);
      if (result.replayed) reply.header('idempotent-replayed', 'true');
      return reply.code(result.statusCode as 200).send(result.body);
    },
  );
}
