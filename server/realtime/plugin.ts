import fp from 'fastify-plugin';
import ioPlugin from './plugins/io.js';
import connectionsPlugin from './plugins/connections.js';
import publisherPlugin from './plugins/publisher.js';
import presencePlugin from './plugins/presence.js';
import wsPlugin from './plugins/ws.js';
import socketsPlugin from './plugins/sockets.js';
import lifecyclePlugin from './plugins/lifecycle.js';

/**
 * Realtime: Socket.IO on the API's port and the plain WebSocket endpoint `/ws`, handshake auth,
 * rooms authorised against the database, the events of the classroom (the contract:
 * `contract.ts`), quiz ticks and presence. Broadcasts go through the Redis streams adapter, so
 * every API instance and worker process of a deployment reaches every client once; presence
 * lives in Redis with heartbeats. Each part is a plugin of its own that names the parts it needs:
 *
 * - `realtime-io`: the Socket.IO server and its adapter (`app.io`, `app.realtime`, `app.accessRevocations`);
 * - `realtime-connections`: admission and accounting of connections (`app.realtimeConnections`);
 * - `realtime-publisher`: the publisher and the tick scheduler it drives (`app.publisher`, `app.quizTicks`);
 * - `realtime-presence`: presence and course membership (`app.presence`, `app.courseMembership`);
 * - `realtime-ws`: the `/ws` endpoint (`app.wsHub`);
 * - `realtime-sockets`: Socket.IO middlewares, client events, the adapter tap, revocations;
 * - `realtime-lifecycle`: the token sweep and the shutdown order.
 */
export default fp(
  async (app) => {
    await app.register(ioPlugin);
    await app.register(connectionsPlugin);
    await app.register(publisherPlugin);
    await app.register(presencePlugin);
    await app.register(wsPlugin);
    await app.register(socketsPlugin);
    await app.register(lifecyclePlugin);
  },
  { name: 'realtime', dependencies: ['config', 'orm', 'redis', 'auth'] },
);
