import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { currentUser } from '../../plugins/auth.js';
import { bearer, errors, IdParams, NoContent } from '../../platform/schemas.js';
import { CourseDetailJson, LessonJson } from '../learning.schemas.js';
import { CreateLessonBody, LessonOrderBody, UpdateLessonBody } from './lessons.schemas.js';
import { createLesson, deleteLesson, getLesson, reorderLessons, updateLesson } from './lessons.service.js';

export default async function lessonRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['lessons'];

  app.post(
    '/courses/:id/lessons',
    {
      preHandler: app.authenticate,
      schema: {
        tags,
        summary: 'Add a lesson; slug unique in the course; parentLessonId nests it (owner, admin)',
        security: bearer,
        params: IdParams,
        body: CreateLessonBody,
        response: { 201: LessonJson, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => reply.status(201).send(await createLesson(request.deps, currentUser(request), request.params.id, request.body)),
  );

  app.get(
    '/lessons/:id',
    {
      preHandler: app.optionalAuth,
      schema: {
        tags,
        summary: 'A lesson; content and videoUrl for previews, enrollees, the owner and admins',
        params: IdParams,
        response: { 200: LessonJson, ...errors(400, 401, 404) },
      },
    },
    async (request) => getLesson(request.deps, request.auth, request.params.id),
  );

  app.patch(
    '/lessons/:id',
    {
      preHandler: app.authenticate,
      schema: {
        tags,
        summary: 'Edit a lesson (owner, admin); parentLessonId may not create a cycle',
        security: bearer,
        params: IdParams,
        body: UpdateLessonBody,
        response: { 200: LessonJson, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (request) => updateLesson(request.deps, currentUser(request), request.params.id, request.body),
  );

  app.delete(
    '/lessons/:id',
    {
      preHandler: app.authenticate,
      schema: {
        tags,
        summary: 'Delete a lesson; its children move up; 409 once students have progress or attempts on it',
        security: bearer,
        params: IdParams,
        response: { 204: NoContent, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      await deleteLesson(request.deps, currentUser(request), request.params.id);
      return reply.status(204).send(null);
    },
  );

  app.put(
    '/courses/:id/lesson-order',
    {
      preHandler: app.authenticate,
      schema: {
        tags,
        summary: 'Move and reorder lessons in one transaction: all or nothing (owner, admin)',
        security: bearer,
        params: IdParams,
        body: LessonOrderBody,
        response: { 200: CourseDetailJson, ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => reorderLessons(request.deps, currentUser(request), request.params.id, request.body),
  );
}
