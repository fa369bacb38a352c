import { EventEmitter } from 'node:events';
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
import fp from 'fastify-plugin';
import websocket from '@fastify/websocket';
import { WsHub } from '../ws.js';
import { clientEventHandlers } from './handlers.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The plain WebSocket endpoint's connections on this instance. */
    wsHub: WsHub;
  }
}

/**
 * The plain WebSocket endpoint `/ws`: the same client events and handlers as Socket.IO, the
 * broadcasts this instance delivers (handed over by the sockets part's adapter tap).
 */
export default fp(
  async (app) => {
    const { config, realtimeConnections: connections, publisher } = app;
    const log = app.log.child({ component: 'realtime' });

    // @fastify/websocket routes every upgrade of the server it listens on through Fastify's router.
    // `/socket.io/` upgrades belong to engine.io (listening on the same server), so it listens on
    // a stand-in that gets the other upgrades only. Routed through Fastify, each Socket.IO
    // connection ran the HTTP hooks (the per-IP rate limit counted it, an EntityManager was forked)
    // and its request, reply and EntityManager stayed reachable from the socket for the whole
    // connection (about 8 KiB of heap each).
    const upgrades = new EventEmitter();
    const forwardUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      if (!request.url?.startsWith('/socket.io/')) upgrades.emit('upgrade', request, socket, head);
    };
    app.server.on('upgrade', forwardUpgrade);
    app.addHook('onClose', async () => {
      app.server.off('upgrade', forwardUpgrade);
    });
    await app.register(websocket, {
      // @fastify/websocket only listens to `upgrade` on `server`; its ws server runs with `noServer`.
      options: { maxPayload: config.socketMaxMessageBytes, server: upgrades as unknown as HttpServer },
      // The lifecycle part closes `/ws` connections with a reason at shutdown; this one must not close them first.
      preClose: (done) => done(),
    });

    const ws = new WsHub({
      // Called per event, once the app is ready (the services plugin decorates it after this one).
      forkDeps: () => app.forkDeps(),
      log,
      membership: app.courseMembership,
      handlers: clientEventHandlers(app),
      verifyAccessToken: (token) => app.verifyAccessToken(token),
      authTimeoutMs: config.wsAuthTimeoutMs,
      onOpen: (userId) => {
        if (!connections.local.open(userId)) return false;
        publisher.studentConnected(userId);
        return true;
      },
      onClose: (userId) => connections.local.close(userId),
      bucketFor: (userId) => connections.local.bucket(userId),
      gate: connections.gate,
    });
    app.decorate('wsHub', ws);
    // The token is read from the query here and never logged (the logger redacts `token=` in URLs).
    // Connections are counted by the handshake limit rather than by the HTTP limiter.
    app.get('/ws', { websocket: true, schema: { hide: true }, config: { rateLimit: false } }, (socket, request) => {
      const { token } = request.query as { token?: unknown };
      ws.accept(socket, typeof token === 'string' ? token : undefined, connections.admitHandshake(request.ip));
    });
  },
  { name: 'realtime-ws', dependencies: ['config', 'orm', 'auth', 'realtime-connections', 'realtime-publisher', 'realtime-presence'] },
);
