import type { FastifyInstance } from 'fastify';
import type { ClientEventHandlers, ClientEventName } from '../ack.js';
import { createAuthHandlers } from '../handlers/auth.handlers.js';
import { createCourseHandlers } from '../handlers/course.handlers.js';
import { componentSocketHandlers } from '../../modules/index.js';

/** Every client event's handler, the same for Socket.IO sockets and `/ws` connections. */
export function clientEventHandlers(app: FastifyInstance): ClientEventHandlers<ClientEventName> {
  return {
    ...createAuthHandlers({ verifyAccessToken: (token) => app.verifyAccessToken(token) }),
    ...createCourseHandlers({ membership: app.courseMembership, grants: app.realtimeConnections.joinGrants }),
    ...componentSocketHandlers(),
  };
}
