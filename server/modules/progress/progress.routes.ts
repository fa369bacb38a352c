import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { currentUser } from '../../plugins/auth.js';
import { bearer, errors, IdParams } from '../../platform/schemas.js';
import { LessonProgressBody, LessonProgressResponse } from './progress.schemas.js';
import { recordLessonProgress } from './progress.service.js';

export default async function progressRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  app.post(
    '/lessons/:id/progress',
    {
      preHandler: app.authenticate,
      schema: {
        tags: ['enrollments'],
        summary: 'Record my progress on a lesson; completed is sticky, completion never decreases, time only adds',
        description:
          'A lesson with a published graded quiz is completed by passing the quiz: marking it completed here is 409 QUIZ_REQUIRED. ' +
          'Send `clientKey` to make retries safe: a key already applied adds no time twice.',
        security: bearer,
        params: IdParams,
        body: LessonProgressBody,
        response: { 200: LessonProgressResponse, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (request) => {
      const { lessonProgress, enrollment } = await recordLessonProgress(request.deps, currentUser(request), request.params.id, request.body);
      return { lessonProgress, enrollment };
    },
  );
}
