import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { currentUser } from '../../plugins/auth.js';
import { bearer, errors, IdParams } from '../../platform/schemas.js';
import { DashboardJson } from './dashboard.schemas.js';
import { getDashboard } from './dashboard.service.js';

export default async function dashboardRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  app.get(
    '/courses/:id/dashboard',
    {
      preHandler: app.authenticate,
      schema: {
        tags: ['dashboard'],
        summary: 'Live dashboard snapshot: students with progress and last activity, who is online, quiz statistics (owner, admin)',
        security: bearer,
        params: IdParams,
        response: { 200: DashboardJson, ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => getDashboard(request.deps, currentUser(request), request.params.id),
  );
}
