import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { currentUser, requireRole } from '../../plugins/auth.js';
import { bearer, errors } from '../../platform/schemas.js';
import { ChangePasswordBody, IdParams, ListUsersQuery, UpdateMeBody, UpdateUserBody, UserPage, UserResponse, toUserResponse } from './users.schemas.js';
import * as users from './users.service.js';

/** `/me` (any signed-in user) and `/users` (admins). */
export default async function usersRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const adminOnly = [app.authenticate, requireRole('admin')];

  app.get(
    '/me',
    {
      preHandler: app.authenticate,
      schema: { tags: ['me'], summary: 'Your account', security: bearer, response: { 200: UserResponse, ...errors(401, 429) } },
    },
    async (request) => toUserResponse(await users.getUser(request.deps, currentUser(request).id)),
  );

  app.patch(
    '/me',
    {
      preHandler: app.authenticate,
      schema: {
        tags: ['me'],
        summary: 'Update your name or metadata',
        security: bearer,
        body: UpdateMeBody,
        response: { 200: UserResponse, ...errors(400, 401, 429) },
      },
    },
    async (request) => toUserResponse(await users.updateMe(request.deps, currentUser(request).id, request.body)),
  );

  app.post(
    '/me/password',
    {
      preHandler: [
        app.authenticate,
        // Guessing the current password through a stolen access token is as limited as a login.
        async (request) =>
          app.consumeRateLimit('password', currentUser(request).id, { max: app.config.loginRateLimitMax, windowMs: app.config.loginRateLimitWindowMs }),
      ],
      schema: {
        tags: ['me'],
        summary: 'Change your password',
        description:
          'A wrong `currentPassword` answers 400 `VALIDATION_ERROR`. On success every other session ends: all your refresh ' +
          "tokens are revoked except `refreshToken` when you send it (this session's). Access tokens already issued expire on their own.",
        security: bearer,
        body: ChangePasswordBody,
        response: { 204: Type.Null(), ...errors(400, 401, 429, 503) },
      },
    },
    async (request, reply) => {
      await users.changePassword({ ...request.deps, passwords: app.passwords }, currentUser(request).id, request.body);
      return reply.status(204).send(null);
    },
  );

  app.get(
    '/users',
    {
      preHandler: adminOnly,
      schema: {
        tags: ['users'],
        summary: 'List accounts (admin)',
        security: bearer,
        querystring: ListUsersQuery,
        response: { 200: UserPage, ...errors(400, 401, 403, 429) },
      },
    },
    async (request) => {
      const { items, total } = await users.listUsers(request.deps, request.query);
      return { items: items.map(toUserResponse), total, page: request.query.page, limit: request.query.limit };
    },
  );

  app.patch(
    '/users/:id',
    {
      preHandler: adminOnly,
      schema: {
        tags: ['users'],
        summary: "Change an account's role, status, name or metadata (admin)",
        description:
          "Deactivating ends the user's sessions at once (refresh tokens revoked, access tokens refused on the next request, " +
          'sockets disconnected). A role change bites on the next request too. 409 when it would leave no active admin.',
        security: bearer,
        params: IdParams,
        body: UpdateUserBody,
        response: { 200: UserResponse, ...errors(400, 401, 403, 404, 409, 429) },
      },
    },
    async (request) => toUserResponse(await users.updateUser(request.deps, request.params.id, request.body)),
  );
}
