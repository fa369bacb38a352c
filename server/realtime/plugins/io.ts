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
    /** Access revocations reaching this instance, from here or from another process. */
    accessRevocations: AccessRevocations;
    /** Deadlines moved in another process (an API instance, a worker), as this instance hears of them. */
    deadlineMoves: DeadlineMoves;
  }
}

/** Connection state recovery window: two minutes. */
const RECOVERY_WINDOW_MS = 2 * 60 * 1000;

/**
 * Access taken away, as this instance hears of it: users who lost a course (`revokeCourse`), an
 * account deactivated or whose role changed (`accountChanged`). The calls (the publisher, here)
 * tell the other processes through the adapter and this one at once; what the others revoke
 * arrives through the adapter. Listeners take the connections out of the rooms, or disconnect
 * them, and void the join grants read before.
 */
export class AccessRevocations extends EventEmitter<{ course: [CourseAccessRevoked]; account: [userId: string] }> {
  constructor(private readonly io: RealtimeServer) {
    super();
    io.on('course-access-revoked', (revoked) => this.emit('course', revoked));
    io.on('account-changed', (userId) => this.emit('account', userId));
  }

  revokeCourse(revoked: CourseAccessRevoked): void {
    this.emit('course', revoked);
    this.io.serverSideEmit('course-access-revoked', revoked);
  }

  accountChanged(userId: string): void {
    this.emit('account', userId);
    this.io.serverSideEmit('account-changed', userId);
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
    app.decorate('accessRevocations', new AccessRevocations(io));
    app.decorate('deadlineMoves', new DeadlineMoves(io));
    app.addHook('onClose', async () => {
      // Closes the adapter; the HTTP server is Fastify's and is already closed by now.
      await io.close();
      await closeRedis(adapterRedis);
    });
  },
  { name: 'realtime-io', dependencies: ['config', 'redis'] },
);
