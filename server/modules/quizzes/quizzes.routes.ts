import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { currentUser } from '../../plugins/auth.js';
import { bearer, errors, IdParams, NoContent, Page } from '../../platform/schemas.js';
import { AttemptJson } from '../attempts/attempts.schemas.js';
import { startOrJoinAttempt } from '../live-sessions/launches.service.js';
import {
  AttemptListQuery,
  AttemptSummaryJson,
  CreateQuestionBody,
  CreateQuizBody,
  QuestionJson,
  QuizJson,
  QuizStatsJson,
  UpdateQuestionBody,
  UpdateQuizBody,
} from './quizzes.schemas.js';
import { createQuestion, createQuiz, deleteQuestion, deleteQuiz, getQuiz, getQuizStats, listAttempts, updateQuestion, updateQuiz } from './quizzes.service.js';

export default async function quizRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['quizzes'];

  app.post(
    '/lessons/:id/quiz',
    {
      preHandler: app.authenticate,
      schema: {
        tags,
        summary: 'Add the quiz of a lesson (one per lesson; 409 for a second) (owner, admin)',
        security: bearer,
        params: IdParams,
        body: CreateQuizBody,
        response: { 201: QuizJson, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => reply.status(201).send(await createQuiz(request.deps, currentUser(request), request.params.id, request.body)),
  );

  app.get(
    '/quizzes/:id',
    {
      preHandler: app.authenticate,
      schema: {
        tags,
        summary: 'A quiz: everything for owners and admins; settings and questionCount for enrollees',
        security: bearer,
        params: IdParams,
        response: { 200: QuizJson, ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => getQuiz(request.deps, currentUser(request), request.params.id),
  );

  app.patch(
    '/quizzes/:id',
    {
      preHandler: app.authenticate,
      schema: {
        tags,
        summary: 'Change quiz settings; a quiz without questions cannot be published (owner, admin)',
        description: 'Running attempts keep the deadline fixed when they started.',
        security: bearer,
        params: IdParams,
        body: UpdateQuizBody,
        response: { 200: QuizJson, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (request) => updateQuiz(request.deps, currentUser(request), request.params.id, request.body),
  );

  app.delete(
    '/quizzes/:id',
    {
      preHandler: app.authenticate,
      schema: {
        tags,
        summary: 'Delete a quiz; 409 once it has attempts (owner, admin)',
        security: bearer,
        params: IdParams,
        response: { 204: NoContent, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      await deleteQuiz(request.deps, currentUser(request), request.params.id);
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/quizzes/:id/questions',
    {
      preHandler: app.authenticate,
      schema: {
        tags,
        summary: 'Add a question, validated per type (owner, admin)',
        security: bearer,
        params: IdParams,
        body: CreateQuestionBody,
        response: { 201: QuestionJson, ...errors(400, 401, 403, 404) },
      },
    },
    async (request, reply) => reply.status(201).send(await createQuestion(request.deps, currentUser(request), request.params.id, request.body)),
  );

  app.patch(
    '/questions/:id',
    {
      preHandler: app.authenticate,
      schema: {
        tags,
        summary: 'Edit a question; 409 once its quiz has attempts (owner, admin)',
        security: bearer,
        params: IdParams,
        body: UpdateQuestionBody,
        response: { 200: QuestionJson, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (request) => updateQuestion(request.deps, currentUser(request), request.params.id, request.body),
  );

  app.delete(
    '/questions/:id',
    {
      preHandler: app.authenticate,
      schema: {
        tags,
        summary: 'Delete a question; 409 once its quiz has attempts (owner, admin)',
        security: bearer,
        params: IdParams,
        response: { 204: NoContent, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      await deleteQuestion(request.deps, currentUser(request), request.params.id);
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/quizzes/:id/attempts',
    {
      preHandler: app.authenticate,
      schema: {
        tags: ['attempts'],
        summary: 'Start an attempt (201) or resume the one in progress (200) (active enrollees)',
        description:
          'The deadline is fixed at start; 409 MAX_ATTEMPTS_REACHED past maxAttempts. While the quiz has an open launch in a live session, ' +
          'the student joins it with the window left (409 QUIZ_TIME_EXPIRED under 15 s); an unpublished quiz is taken only that way.',
        security: bearer,
        params: IdParams,
        response: { 200: AttemptJson, 201: AttemptJson, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const started = await startOrJoinAttempt(request.deps, currentUser(request), request.params.id);
      return reply.status(started.created ? 201 : 200).send(started.attempt);
    },
  );

  app.get(
    '/quizzes/:id/attempts',
    {
      preHandler: app.authenticate,
      schema: {
        tags: ['attempts'],
        summary: 'Attempts at a quiz: an enrollee its own, owners and admins all',
        security: bearer,
        params: IdParams,
        querystring: AttemptListQuery,
        response: { 200: Page(AttemptSummaryJson), ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => listAttempts(request.deps, currentUser(request), request.params.id, request.query),
  );

  app.get(
    '/quizzes/:id/stats',
    {
      preHandler: app.authenticate,
      schema: {
        tags,
        summary: 'Per-question answer distribution, share correct, average score (owner, admin)',
        security: bearer,
        params: IdParams,
        response: { 200: QuizStatsJson, ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => getQuizStats(request.deps, currentUser(request), request.params.id),
  );
}
