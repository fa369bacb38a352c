import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { currentUser } from '../../plugins/auth.js';
import { bearer, errors, IdParams, Page } from '../../platform/schemas.js';
import { EnrollmentJson, LessonProgressJson } from '../learning.schemas.js';
import { getEnrollmentProgress } from '../progress/progress.service.js';
import { EnrollmentListQuery, EnrollmentPatchBody, EnrollmentProgressQuery } from './enrollments.schemas.js';
import { enroll, listCourseEnrollments, listMyEnrollments, updateEnrollment } from './enrollments.service.js';

export default async function enrollmentRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['enrollments'];

  app.post(
    '/courses/:id/enroll',
    {
      preHandler: app.authenticate,
      schema: {
        tags,
        summary: 'Enroll in a published course: 201 new, 200 already enrolled or reactivated (students)',
        security: bearer,
        params: IdParams,
        response: { 200: EnrollmentJson, 201: EnrollmentJson, ...errors(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const { created, enrollment } = await enroll(request.deps, currentUser(request), request.params.id);
      return reply.status(created ? 201 : 200).send(enrollment);
    },
  );

  app.get(
    '/enrollments',
    {
      preHandler: app.authenticate,
      schema: {
        tags,
        summary: 'My enrollments, each with its course',
        security: bearer,
        querystring: EnrollmentListQuery,
        response: { 200: Page(EnrollmentJson), ...errors(400, 401) },
      },
    },
    async (request) => listMyEnrollments(request.deps, currentUser(request), request.query),
  );

  app.get(
    '/courses/:id/enrollments',
    {
      preHandler: app.authenticate,
      schema: {
        tags,
        summary: "A course's enrollments with every student's progress (owner, admin)",
        security: bearer,
        params: IdParams,
        querystring: EnrollmentListQuery,
        response: { 200: Page(EnrollmentJson), ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => listCourseEnrollments(request.deps, currentUser(request), request.params.id, request.query),
  );

  app.patch(
    '/enrollments/:id',
    {
      preHandler: app.authenticate,
      schema: {
        tags,
        summary: 'Drop the enrollment, or rate (1–5) and review the course (the student)',
        security: bearer,
        params: IdParams,
        body: EnrollmentPatchBody,
        response: { 200: EnrollmentJson, ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => updateEnrollment(request.deps, currentUser(request), request.params.id, request.body),
  );

  app.get(
    '/enrollments/:id/progress',
    {
      preHandler: app.authenticate,
      schema: {
        tags,
        summary: 'Per-lesson progress of an enrollment (the student, the owner, admins)',
        description: 'Every lesson of the course, with `not_started` where the student has no progress: parents first, by `orderIndex`.',
        security: bearer,
        params: IdParams,
        querystring: EnrollmentProgressQuery,
        response: { 200: Page(LessonProgressJson), ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => getEnrollmentProgress(request.deps, currentUser(request), request.params.id, request.query),
  );
}
