import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { currentUser } from '../../plugins/auth.js';
import { bearer, errors, IdParams } from '../../platform/schemas.js';
import { RegradeAcceptedJson, RegradeBody, RegradeDryRunJson, RegradeJson } from './regrades.schemas.js';
import { dryRunRegrade, getRegrade, requestRegrade } from './regrades.service.js';

export default async function regradeRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['quizzes'];

  app.post(
    '/quizzes/:id/regrade',
    {
      preHandler: app.authenticate,
      schema: {
        tags,
        summary: 'Regrade the graded attempts under the current answer key, points and passing score (owner, admin)',
        description:
          'dryRun true: 200 with the attempts whose result would change, old and new; nothing is written. dryRun false: 202 {regradeId}; the regrade runs as a job, one per quiz and key version (asking again returns the same one). 409 REGRADE_BLOCKED while the quiz has an open launch or a regrade of another key version runs.',
        security: bearer,
        params: IdParams,
        body: RegradeBody,
        response: { 200: RegradeDryRunJson, 202: RegradeAcceptedJson, ...errors(400, 401, 403, 404, 409, 503) },
      },
    },
    async (request, reply) => {
      const user = currentUser(request);
      if (request.body.dryRun) return reply.status(200).send(await dryRunRegrade(request.deps, user, request.params.id));
      return reply.status(202).send(await requestRegrade(request.deps, user, request.params.id));
    },
  );

  app.get(
    '/regrades/:id',
    {
      preHandler: app.authenticate,
      schema: {
        tags,
        summary: "A regrade's state and counts (the quiz's owner, admin)",
        security: bearer,
        params: IdParams,
        response: { 200: RegradeJson, ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => getRegrade(request.deps, currentUser(request), request.params.id),
  );
}
