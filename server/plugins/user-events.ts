import { EventEmitter } from 'node:events';
import fp from 'fastify-plugin';
import type { UserRole } from '../../entities/enums.js';

/** What happened to an account, for whoever must react at once (Socket.IO disconnects, caches). */
export interface UserEventMap {
  /** An admin deactivated the user; its refresh tokens are already revoked. */
  deactivated: [{ userId: string }];
  /** An admin changed the user's role; access tokens claiming the old role already fail. */
  roleChanged: [{ userId: string; role: UserRole; previousRole: UserRole }];
  /** A listener threw or rejected; logged by the plugin. */
  error: [unknown];
}

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * Emitted in the process that made the change, after it committed. Listeners that must reach
     * other instances (e.g. `io.in('user:<id>').disconnectSockets()` through the Socket.IO
     * adapter) do so themselves. Listener errors are caught and logged, never thrown at the caller.
     */
    userEvents: EventEmitter<UserEventMap>;
  }
}

export default fp(
  async (app) => {
    const events = new EventEmitter<UserEventMap>({ captureRejections: true });
    events.on('error', (error) => app.log.error({ err: error }, 'user event listener failed'));
    app.decorate('userEvents', events);
    app.addHook('onClose', async () => {
      events.removeAllListeners();
    });
  },
  { name: 'user-events' },
);
