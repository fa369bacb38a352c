import fp from 'fastify-plugin';
import cookie from '@fastify/cookie';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import { queueContracts, type QueueKey } from '../platform/queues/contract.js';
import { bearer, errors } from '../platform/schemas.js';
import { accountStanding } from '../modules/users/users.service.js';
import { requireRole, type AccessClaims } from './auth.js';

export const QUEUES_PATH = '/admin/queues';
export const QUEUES_COOKIE = 'queues_session';
/** Short: the cookie is a capability to retry and delete jobs. The app asks for a fresh one each time the admin opens the board. */
export const QUEUES_COOKIE_SECONDS = 15 * 60;

/**
 * Bull Board at `/admin/queues`, for admins only, without a token in a URL: an admin's app
 * calls `POST /api/admin/queues-session` with its bearer token and gets a short-lived signed
 * cookie scoped to `/admin/queues` (httpOnly, SameSite=Strict, Secure over HTTPS). Every board
 * request checks that cookie and the account's current standing (a demoted or deactivated admin
 * loses the board at once). Against CSRF: SameSite=Strict keeps the cookie off cross-site
 * requests, and a state-changing request must also come from this origin (Sec-Fetch-Site/Origin).
 */
export default fp(
  async (root) => {
    const app = root.withTypeProvider<TypeBoxTypeProvider>();
    const cookieOptions = (request: FastifyRequest) =>
      ({ httpOnly: true, sameSite: 'strict', secure: request.protocol === 'https', path: QUEUES_PATH }) as const;

    await app.register(async (scope) => {
      await scope.register(cookie);
      const api = scope.withTypeProvider<TypeBoxTypeProvider>();
      api.post(
        '/api/admin/queues-session',
        {
          preHandler: [app.authenticate, requireRole('admin')],
          schema: {
            tags: ['admin'],
            summary: 'Open the queue dashboard (Bull Board)',
            description: `Admins: sets the \`${QUEUES_COOKIE}\` cookie (httpOnly, SameSite=Strict, path \`${QUEUES_PATH}\`, ${QUEUES_COOKIE_SECONDS} s) that \`${QUEUES_PATH}\` requires; then navigate there.`,
            security: bearer,
            body: Type.Object({}, { additionalProperties: false }),
            response: { 200: Type.Object({ url: Type.String(), expiresAt: Type.String({ format: 'date-time' }) }), ...errors(400, 401, 403) },
          },
        },
        async (request, reply) => {
          const user = request.auth!;
          const token = app.jwt.sign({ sub: user.id, role: user.role, typ: 'queues' } satisfies AccessClaims, { expiresIn: QUEUES_COOKIE_SECONDS });
          const expiresAt = new Date(Date.now() + QUEUES_COOKIE_SECONDS * 1000);
          reply.setCookie(QUEUES_COOKIE, token, { ...cookieOptions(request), expires: expiresAt });
          return { url: `${QUEUES_PATH}/`, expiresAt: expiresAt.toISOString() };
        },
      );
    });

    await app.register(async (scope) => {
      await scope.register(cookie);
      scope.addHook('onRequest', async (request, reply) => {
        const refusal = await refuse(request);
        if (!refusal) return;
        if (refusal.status === 401) reply.clearCookie(QUEUES_COOKIE, cookieOptions(request));
        return sendRefusal(reply, refusal.status, refusal.message);
      });

      async function refuse(request: FastifyRequest): Promise<{ status: 401 | 403; message: string } | null> {
        if (!['GET', 'HEAD'].includes(request.method) && !sameOrigin(request))
          return { status: 403, message: 'Cross-site requests to the queue dashboard are refused.' };
        const token = request.cookies[QUEUES_COOKIE];
        if (!token) return { status: 401, message: 'Sign in to the app as an admin and open Queues from the admin page.' };
        let claims: AccessClaims;
        try {
          claims = app.jwt.verify<AccessClaims>(token);
        } catch {
          return { status: 401, message: 'Your queue dashboard session is invalid or has expired: open Queues again from the admin page.' };
        }
        if (claims.typ !== 'queues') return { status: 401, message: 'Not a queue dashboard session.' };
        const standing = await accountStanding({ em: app.orm.em.fork() }, claims.sub);
        if (!standing?.is_active || standing.role !== 'admin') return { status: 403, message: 'The queue dashboard is for admins only.' };
        return null;
      }

      const board = new FastifyAdapter();
      createBullBoard({
        queues: (Object.keys(queueContracts) as QueueKey[]).map((key) => new BullMQAdapter(app.queues.get(key))),
        serverAdapter: board,
        options: { uiConfig: { boardTitle: 'Classroom queues' } },
      });
      board.setBasePath(QUEUES_PATH);
      await scope.register(board.registerPlugin(), { prefix: QUEUES_PATH });
    });
  },
  { name: 'admin-queues', dependencies: ['config', 'auth', 'orm', 'queues'] },
);

/** Browsers say where a request came from; a request that says another site (or origin) is refused. */
function sameOrigin(request: FastifyRequest): boolean {
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin') return false;
  const origin = request.headers.origin;
  if (origin === undefined) return true;
  return origin === `${request.protocol}://${request.host}`;
}

function sendRefusal(reply: FastifyReply, status: 401 | 403, message: string) {
  // A page, not JSON: people reach this URL with a browser.
  const html =
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Queues: access refused</title></head>` +
    `<body><main><h1>${status === 401 ? 'Sign-in needed' : 'Not allowed'}</h1><p role="alert">${message}</p><p><a href="/app/#/admin">Back to the app</a></p></main></body></html>`;
  return reply.status(status).type('text/html; charset=utf-8').send(html);
}
