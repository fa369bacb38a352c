import { EventEmitter } from 'node:events';
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
import fp from 'fastify-plugin';
import websocket from '@fastify/websocket';
import { Server } from 'socket.io';
import { attemptDepsFor } from '../routes/attempts/attempt-deps.js';
import { bindClientEvents, type BindDeps } from './ack.js';
import { createAdapterRedis, tapAdapter, useStreamsAdapter } from './adapter.js';
import { joinedCourseIds } from './course-rooms.js';
import { CourseMembership } from './course-membership.js';
import { createSocketEmitter } from './emitter.js';
import { rooms, type RealtimeEmitter } from './events.js';
import { createAuthHandlers } from './handlers/auth.handlers.js';
import { createCourseHandlers } from './handlers/course.handlers.js';
import { createProgressHandlers } from './handlers/progress.handlers.js';
import { createQuizHandlers } from './handlers/quiz.handlers.js';
import type { Presence } from './presence.js';
import { RedisPresence } from './redis-presence.js';
import { RealtimePublisher } from './publisher.js';
import { QuizTickScheduler } from './quiz-ticks.js';
import { TokenBucket } from './rate-limit.js';
import { bridgeRecoveryGap } from './recovery-gap.js';
import { authenticateHandshake, reauthorizeRecoveredRooms } from './socket-auth.js';
import type { RealtimeServer, RealtimeSocket } from './types.js';
import { WsHub } from './ws.js';
import { closeRedis } from '../redis.js';
import { ThrottledWarning } from '../plugins/errors.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The Socket.IO server, attached to this Fastify server (same port, path `/socket.io/`). */
    io: RealtimeServer;
    /** Emits SPEC §3 events to rooms; stamps `serverNow`. */
    realtime: RealtimeEmitter;
    /** Where routes, socket handlers and in-process workers report changes clients hear about. */
    realtimeEvents: RealtimePublisher;
    /** Who is online per course, across instances. */
    presence: Presence;
    /** The plain WebSocket endpoint's connections on this instance. */
    wsHub: WsHub;
  }
}

/** Connection state recovery window (SPEC §3: two minutes). */
const RECOVERY_WINDOW_MS = 2 * 60 * 1000;
/** How often sockets whose token expired (plus grace) are looked for. */
const TOKEN_SWEEP_MS = 1000;

/**
 * Realtime (SPEC §3): Socket.IO on the API's port and the plain WebSocket endpoint `/ws`, handshake
 * auth, rooms authorised against the database, the events of the classroom, quiz ticks and
 * presence. Broadcasts go through the Redis streams adapter, so every API instance and worker
 * process of a deployment reaches every client once; presence lives in Redis with heartbeats.
 */
export default fp(
  async (app) => {
    const { config } = app;
    const log = app.log.child({ component: 'realtime' });

    const io: RealtimeServer = new Server(app.server, {
      serveClient: false,
      maxHttpBufferSize: config.socketMaxMessageBytes,
      connectionStateRecovery: { maxDisconnectionDuration: RECOVERY_WINDOW_MS, skipMiddlewares: false },
      ...(config.corsOrigins.length ? { cors: { origin: config.corsOrigins, credentials: true } } : {}),
    });
    const adapterRedis = app.redisConnections.watch(createAdapterRedis(config, 'api'), 'socket.io');
    useStreamsAdapter(io, adapterRedis, config);

    // @fastify/websocket routes every upgrade of the server it listens on through Fastify's router.
    // `/socket.io/` upgrades belong to engine.io (listening on the same server), so it listens on
    // a stand-in that gets the other upgrades only. Routed through Fastify, each Socket.IO
    // connection ran the HTTP hooks (the per-IP rate limit counted it, an EntityManager was forked)
    // and its request, reply and EntityManager stayed reachable from the socket for the whole
    // connection (about 8 KiB of heap each; bench scenario 3).
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
      // Our preClose below closes `/ws` connections with a reason; this one must not close them first.
      preClose: (done) => done(),
    });

    const emitter = createSocketEmitter(io);
    const presenceWarning = new ThrottledWarning('presence cannot reach Redis; kept locally until it answers');
    const presence = new RedisPresence({
      redis: app.redis,
      redisPrefix: config.redisPrefix,
      heartbeatMs: config.presenceHeartbeatMs,
      ttlMs: config.presenceTtlMs,
      onDeparted: (courseId, userIds) => emitter.emit(rooms.instructors(courseId), 'presence:updated', { courseId, joined: [], left: userIds }),
      onReturned: (courseId, userIds) => emitter.emit(rooms.instructors(courseId), 'presence:updated', { courseId, joined: userIds, left: [] }),
      onError: (error) => presenceWarning.noticed(error, log),
    });
    await presence.start().catch((error) => log.warn({ err: error }, 'presence heartbeat not written yet'));
    const membership = new CourseMembership({ presence, emitter });
    /** userId → sockets of that user on this instance. */
    const localSockets = new Map<string, number>();

    const ticks = new QuizTickScheduler({
      emitter,
      onDeadline: (attempt) => {
        publisher.attemptReachedDeadline(attempt).catch((error) => log.error({ err: error, attemptId: attempt.attemptId }, 'quiz:expired failed'));
      },
    });
    const publisher = new RealtimePublisher({
      emitter,
      orm: app.orm,
      redis: app.redis,
      redisPrefix: config.redisPrefix,
      log,
      ticks,
      hasLocalSockets: (userId) => (localSockets.get(userId) ?? 0) > 0,
    });

    app.decorate('io', io);
    app.decorate('realtime', emitter);
    app.decorate('realtimeEvents', publisher);
    app.decorate('presence', presence as Presence);
    if (app.hasDecorator('dashboardSources')) app.dashboardSources.onlineUserIds = (courseId) => presence.online(courseId);

    const handlers = {
      ...createAuthHandlers({ verifyAccessToken: (token) => app.verifyAccessToken(token) }),
      ...createCourseHandlers({ membership }),
      ...createProgressHandlers({ publisher }),
      ...createQuizHandlers({ publisher, attempts: attemptDepsFor(app) }),
    };

    const ws = new WsHub({
      orm: app.orm,
      log,
      membership,
      handlers,
      verifyAccessToken: (token) => app.verifyAccessToken(token),
      authTimeoutMs: config.wsAuthTimeoutMs,
      eventsPerSecond: config.socketEventsPerSecond,
      eventsBurst: config.socketEventsBurst,
      onOpen: (userId) => {
        localSockets.set(userId, (localSockets.get(userId) ?? 0) + 1);
        trackOpenAttempts(userId).catch((error) => log.error({ err: error, userId }, 'loading open attempts failed'));
      },
      onClose: (userId) => localGone(userId),
    });
    app.decorate('wsHub', ws);
    // The token is read from the query here and never logged (the logger redacts `token=` in URLs).
    app.get('/ws', { websocket: true, schema: { hide: true } }, (socket, request) => {
      const { token } = request.query as { token?: unknown };
      ws.accept(socket, typeof token === 'string' ? token : undefined);
    });

    // One hook sees each broadcast this instance delivers (emitted here or read from the stream):
    // `/ws` clients get it, and a `quiz:graded` from any process stops this instance's ticks.
    tapAdapter(io, {
      delivered(packet) {
        try {
          if (packet.event === 'quiz:graded') ticks.untrack((packet.payload as { attemptId: string }).attemptId);
          ws.deliver(packet);
        } catch (error) {
          log.error({ err: error, event: packet.event }, '/ws delivery failed');
        }
      },
      disconnect: (names) => ws.disconnect(names),
    });

    // What a recovering socket would miss while its session is restored and the two middlewares
    // below run is kept and sent to it once it is connected (see recovery-gap.ts).
    const recoveryGap = bridgeRecoveryGap(io);
    io.use((socket, next) => recoveryGap.track(socket, next));
    io.use(authenticateHandshake((token) => app.verifyAccessToken(token), log));
    io.use(reauthorizeRecoveredRooms(app.orm, log));

    io.on('connection', (socket: RealtimeSocket) => {
      recoveryGap.flush(socket);
      const { userId } = socket.data;
      socket.join(rooms.user(userId));
      localSockets.set(userId, (localSockets.get(userId) ?? 0) + 1);

      const deps: BindDeps = { orm: app.orm, log, bucket: new TokenBucket(config.socketEventsPerSecond, config.socketEventsBurst) };
      bindClientEvents(socket, handlers, deps);

      socket.on('disconnecting', () => {
        for (const courseId of joinedCourseIds(socket.rooms)) {
          membership.left(socket, courseId).catch((error) => log.error({ err: error, courseId }, 'presence leave failed'));
        }
      });
      socket.on('disconnect', () => localGone(userId));

      // A recovered socket is back in its (re-authorised) course rooms: it is online there again.
      if (socket.recovered) {
        for (const courseId of joinedCourseIds(socket.rooms)) {
          membership.entered(socket, courseId).catch((error) => log.error({ err: error, courseId }, 'presence join failed'));
        }
      }
      trackOpenAttempts(userId).catch((error) => log.error({ err: error, userId }, 'loading open attempts failed'));
    });

    /** A socket or `/ws` connection of the user on this instance went away. */
    function localGone(userId: string) {
      const left = (localSockets.get(userId) ?? 1) - 1;
      if (left > 0) return void localSockets.set(userId, left);
      localSockets.delete(userId);
      ticks.untrackStudent(userId);
    }

    /** Ticks for the student's running timed attempts, now that it has a socket here. */
    async function trackOpenAttempts(userId: string) {
      const open = await app.orm.em.fork().execute<Array<{ id: string; deadline: string }>>(
        `SELECT a.id, a.deadline FROM quiz_attempts a JOIN enrollments e ON e.id = a.enrollment_id
          WHERE e.student_id = ? AND a.status = 'in_progress' AND a.deadline IS NOT NULL`,
        [userId],
      );
      for (const attempt of open) publisher.trackIfLocal({ attemptId: attempt.id, studentId: userId, deadline: attempt.deadline });
    }

    // Deactivation and role changes cut the user's sockets at once, on every instance (through
    // the adapter); the handshake then refuses the old token, and recovery runs the handshake.
    const cut = ({ userId }: { userId: string }) => io.in(rooms.user(userId)).disconnectSockets(true);
    app.userEvents.on('deactivated', cut);
    app.userEvents.on('roleChanged', cut);

    // A socket whose token expired waits `socketTokenGraceMs` for `auth:refresh`, then goes.
    const tokenSweep = setInterval(() => {
      const cutoff = Date.now() - config.socketTokenGraceMs;
      for (const socket of io.of('/').sockets.values()) {
        if (socket.data.expiresAt <= cutoff) socket.disconnect(true);
      }
      ws.closeExpired(cutoff);
    }, TOKEN_SWEEP_MS);
    tokenSweep.unref();

    // Without this, open sockets keep the HTTP server from closing and `app.close()` hangs.
    app.addHook('preClose', async () => {
      clearInterval(tokenSweep);
      ticks.close();
      publisher.close();
      io.local.disconnectSockets(true);
      ws.closeAll();
      io.engine.close();
      // This instance's users leave presence now rather than when its heartbeat expires.
      await presence.stop().catch((error) => log.warn({ err: error }, 'presence cleanup failed'));
    });
    app.addHook('onClose', async () => {
      app.userEvents.off('deactivated', cut);
      app.userEvents.off('roleChanged', cut);
      // Closes the adapter; the HTTP server is Fastify's and is already closed by now.
      await io.close();
      await closeRedis(adapterRedis);
    });
  },
  { name: 'realtime', dependencies: ['config', 'orm', 'redis', 'auth', 'user-events'] },
);
