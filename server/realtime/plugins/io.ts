import { EventEmitter } from 'node:events';
import fp from 'fastify-plugin';
import { Server } from 'socket.io';
import { closeRedis } from '../../platform/redis.js';
import { createAdapterRedis, useStreamsAdapter } from '../adapter.js';
import { createSocketEmitter, type RealtimeEmitter } from '../emitter.js';
import type { CourseAccessRevoked, MovedAttemptDeadline, RealtimeServer } from '../types.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The Socket.IO server, attached to this Fastify server (same port, path `/socket.io/`). */
    io: RealtimeServer;
    /** Emits contract events to rooms; stamps `serverNow`. Only the publisher should call it. */
    realtime: RealtimeEmitter;
    /** Course access revocations reaching this instance, from here or from another process. */
    courseRevocations: CourseRevocations;
    /** Deadlines moved in another process (an API instance, a worker), as this instance hears of them. */
    deadlineMoves: DeadlineMoves;
  }
}

/** Connection state recovery window: two minutes. */
const RECOVERY_WINDOW_MS = 2 * 60 * 1000;

/**
 * Users who lost access to a course, as this instance hears of it: `revoke()` (the publisher, here)
 * tells the other processes through the adapter and this one at once; what the others revoke
 * arrives through the adapter. Listeners (`on('revoked')`) take the connections out of the rooms.
 */
export class CourseRevocations extends EventEmitter<{ revoked: [CourseAccessRevoked] }> {
  constructor(private readonly io: RealtimeServer) {
    super();
    io.on('course-access-revoked', (revoked) => this.emit('revoked', revoked));
  }

  revoke(revoked: CourseAccessRevoked): void {
    this.emit('revoked', revoked);
    this.io.serverSideEmit('course-access-revoked', revoked);
  }
}

/**
 * Attempts' deadlines moved, between processes: `broadcast()` tells the other processes through
 * the adapter (the publisher of the process that moved them acts on its own ticks itself); what
 * the others moved arrives through the adapter to the listeners (`on('moved')`: the publisher).
 */
export class DeadlineMoves extends EventEmitter<{ moved: [MovedAttemptDeadline[]] }> {
  constructor(private readonly io: RealtimeServer) {
    super();
    io.on('attempt-deadlines-moved', (moved) => this.emit('moved', moved));
  }

  broadcast(moved: MovedAttemptDeadline[]): void {
    this.io.serverSideEmit('attempt-deadlines-moved', moved);
  }
}

/**
 * The Socket.IO server on the API's port, on the Redis streams adapter (every API instance and
 * worker process of a deployment reaches every client once), with connection state recovery.
 */
export default fp(
  async (app) => {
    const { config } = app;
    const io: RealtimeServer = new Server(app.server, {
      serveClient: false,
      maxHttpBufferSize: config.socketMaxMessageBytes,
      connectionStateRecovery: { maxDisconnectionDuration: RECOVERY_WINDOW_MS, skipMiddlewares: false },
      ...(config.corsOrigins.length ? { cors: { origin: config.corsOrigins, credentials: true } } : {}),
    });
    const adapterRedis = app.redisConnections.watch(createAdapterRedis(config, 'api'), 'socket.io');
    useStreamsAdapter(io, adapterRedis, config);
    app.decorate('io', io);
    app.decorate('realtime', createSocketEmitter(io));
    app.decorate('courseRevocations', new CourseRevocations(io));
    app.decorate('deadlineMoves', new DeadlineMoves(io));
    app.addHook('onClose', async () => {
      // Closes the adapter; the HTTP server is Fastify's and is already closed by now.
      await io.close();
      await closeRedis(adapterRedis);
    });
  },
  { name: 'realtime-io', dependencies: ['config', 'redis'] },
);
