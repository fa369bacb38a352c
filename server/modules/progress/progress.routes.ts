import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { currentUser } from '../../plugins/auth.js';
import { bearer, errors, IdParams, NullableTimestamp, Uuid } from '../../platform/schemas.js';
import { EnrollmentStatus, LessonProgressJson, LessonProgressStatus } from '../learning.schemas.js';
import { recordLessonProgress } from './progress.service.js';

export const LessonProgressBody = Type.Object(
  {
    status: Type.Optional(LessonProgressStatus),
    completionPercentage: Type.Optional(Type.Number({ minimum: 0, maximum: 100, description: 'Rounded half-up to 2 decimals; never goes down' })),
    timeSpentSecondsDelta: Type.Optional(Type.Integer({ minimum: 0, maximum: 3600, description: 'Seconds to add to the time spent' })),
    clientKey: Type.Optional(
      Type.String({
        format: 'uuid',
        description:
          'A new UUID per write, sent again unchanged with each retry of it: a key already applied (within a day) applies nothing ' +
          'and answers the current state. Over HTTP, Socket.IO and /ws alike.',
      }),
    ),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const EnrollmentProgressJson = Type.Object({
  enrollmentId: Uuid,
  courseId: Uuid,
  studentId: Uuid,
  status: EnrollmentStatus,
  progressPercentage: Type.Number(),
  completedLessonsCount: Type.Integer(),
  totalLessonsCount: Type.Integer(),
  totalTimeSpentSeconds: Type.Integer(),
  completedAt: NullableTimestamp,
});

export const LessonProgressResponse = Type.Object({ lessonProgress: LessonProgressJson, enrollment: EnrollmentProgressJson });

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
      const result = await recordLessonProgress(request.em, currentUser(request), request.params.id, request.body);
      request.deps.publisher.lessonProgressRecorded(result);
      return { lessonProgress: result.lessonProgress, enrollment: result.enrollment };
    },
  );
}
