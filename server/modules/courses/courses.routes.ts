import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { currentUser, requireRole } from '../../plugins/auth.js';
import { bearer, errors, IdParams, NoContent, Page } from '../../platform/schemas.js';
import { CourseDetailJson, CourseJson, CourseListQuery, CreateCourseBody, IdOrSlugParams, UpdateCourseBody } from './courses.schemas.js';
import { createCourse, deleteCourse, getCourseDetail, listCourses, updateCourse } from './courses.service.js';

export default async function courseRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['courses'];

  app.get(
    '/courses',
    {
      preHandler: app.optionalAuth,
      schema: {
        tags,
        summary: "Published courses (filters, search, pages); mine=true for an instructor's own, drafts included",
        querystring: CourseListQuery,
        response: { 200: Page(CourseJson), ...errors(400, 401, 403) },
      },
    },
    async (request) => listCourses(request.deps, request.auth, request.query),
  );

  app.get(
    '/courses/:idOrSlug',
    {
      preHandler: app.optionalAuth,
      schema: {
        tags,
        summary: 'A course with its lesson outline (drafts: owner and admins only)',
        params: IdOrSlugParams,
        response: { 200: CourseDetailJson, ...errors(401, 404) },
      },
    },
    async (request) => getCourseDetail(request.deps, request.auth, request.params.idOrSlug),
  );

  app.post(
    '/courses',
    {
      preHandler: [app.authenticate, requireRole('instructor', 'admin')],
      schema: {
        tags,
        summary: 'Create a course (slug derived from the title when absent, made unique)',
        security: bearer,
        body: CreateCourseBody,
        response: { 201: CourseJson, ...errors(400, 401, 403, 409) },
      },
    },
    async (request, reply) => reply.status(201).send(await createCourse(request.deps, currentUser(request), request.body)),
  );

  app.patch(
    '/courses/:id',
    {
      preHandler: app.authenticate,
      schema: {
        tags,
        summary: 'Update a course; isPublished publishes or unpublishes it (owner, admin)',
        security: bearer,
        params: IdParams,
        body: UpdateCourseBody,
        response: { 200: CourseJson, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (request) => updateCourse(request.deps, currentUser(request), request.params.id, request.body),
  );

  app.delete(
    '/courses/:id',
    {
      preHandler: app.authenticate,
      schema: {
        tags,
        summary: 'Delete a course with its lessons and quizzes; 409 while it has enrollments (owner, admin)',
        security: bearer,
        params: IdParams,
        response: { 204: NoContent, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      await deleteCourse(request.deps, currentUser(request), request.params.id);
      return reply.status(204).send(null);
    },
  );
}
