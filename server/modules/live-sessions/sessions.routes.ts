import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { currentUser } from '../../plugins/auth.js';
import { bearer, errors, IdParams, Page } from '../../platform/schemas.js';
import { CurrentSessionJson, LiveSessionJson, SessionHistoryJson, SessionListQuery, SetLessonBody } from './sessions.schemas.js';
import { endLiveSession, getCurrentLiveSession, listLiveSessions, setCurrentLesson, startLiveSession } from './sessions.service.js';

export default async function liveSessionRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['live-sessions'];

  app.post(
    '/courses/:id/live-sessions',
    {
      preHandler: app.authenticate,
      schema: {
        tags,
        summary: 'Start a live session of a published course (owner, admin); 409 CONFLICT while one is live or the course is a draft',
        security: bearer,
        params: IdParams,
        response: { 201: LiveSessionJson, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => reply.status(201).send(await startLiveSession(request.deps, currentUser(request), request.params.id)),
  );

  app.get(
    '/courses/:id/live-sessions/current',
    {
      preHandler: app.authenticate,
      schema: {
        tags,
        summary:
          "The course's live session (404 without one): current lesson, open launch; a student's own launch attempt; for the owner and admins a page of the roster",
        security: bearer,
        params: IdParams,
        querystring: SessionListQuery,
        response: { 200: CurrentSessionJson, ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => getCurrentLiveSession(request.deps, currentUser(request), request.params.id, request.query),
  );

  app.get(
    '/courses/:id/live-sessions',
    {
      preHandler: app.authenticate,
      schema: {
        tags,
        summary: "The course's live sessions, newest first, with attendance and their launches' summaries (owner, admin)",
        security: bearer,
        params: IdParams,
        querystring: SessionListQuery,
        response: { 200: Page(SessionHistoryJson), ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => listLiveSessions(request.deps, currentUser(request), request.params.id, request.query),
  );

  app.patch(
    '/live-sessions/:id',
    {
      preHandler: app.authenticate,
      schema: {
        tags,
        summary: '"Follow me": the lesson everyone in the live session should look at, or null (owner, admin); 409 once ended',
        security: bearer,
        params: IdParams,
        body: SetLessonBody,
        response: { 200: LiveSessionJson, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (request) => setCurrentLesson(request.deps, currentUser(request), request.params.id, request.body.currentLessonId),
  );

  app.post(
    '/live-sessions/:id/end',
    {
      preHandler: app.authenticate,
      schema: {
        tags,
        summary: 'End a live session (its owner, any admin); 409 CONFLICT when it has already ended',
        security: bearer,
        params: IdParams,
        response: { 200: LiveSessionJson, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (request) => endLiveSession(request.deps, currentUser(request), request.params.id),
  );
}
