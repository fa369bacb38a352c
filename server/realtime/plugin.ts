import { EventEmitter } from 'node:events';
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
import fp from 'fastify-plugin';
import websocket from '@fastify/websocket';
import { Server } from 'socket.io';
import { bindClientEvents, type BindDeps } from './ack.js';
import { createAdapterRedis, useStreamsAdapter } from './adapter.js';
import { bridgeRecoveryGap, tapAdapter } from './socketio-internals.js';
import { joinedCourseIds } from './course-rooms.js';
import { leaveRevokedRooms, revokeCourseAccess, type CourseRevocationDeps } from './course-revocation.js';
import { CourseMembership } from './course-membership.js';
import { createSocketEmitter } from './emitter.js';
import { EventGate } from './event-gate.js';
import { rooms } from './contract.js';
import type { RealtimeEmitter } from './emitter.js';
import { createAuthHandlers } from './handlers/auth.handlers.js';
import { createCourseHandlers } from './handlers/course.handlers.js';
import { componentSocketHandlers } from '../modules/index.js';
import type { Presence } from './presence.js';
import { RedisPresence } from './redis-presence.js';
import { RealtimePublisher } from './publisher.js';
import { QuizTickScheduler } from './quiz-ticks.js';
import { authenticateHandshake, handshakeError, reauthorizeRecoveredRooms } from './socket-auth.js';
import { clientIpResolver } from './client-ip.js';
import { trustProxyOption } from '../platform/trust-proxy.js';
import { LocalConnections } from './local-connections.js';
import { hitWindow } from '../plugins/rate-limit.js';
import type { RealtimeServer, RealtimeSocket } from './types.js';
import { WsHub } from './ws.js';
import { closeRedis } from '../platform/redis.js';
import { ThrottledWarning } from '../plugins/errors.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The Socket.IO server, attached to this Fastify server (same port, path `/socket.io/`). */
    io: RealtimeServer;
    /** Emits SPEC §3 events to rooms; stamps `serverNow`. */
    realtime: RealtimeEmitter;
    /** The one publisher: what services report becomes events here. */
    publisher: RealtimePublisher;
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
    /** The users with sockets or `/ws` connections here: their count (capped) and event budget. */
    const connections = new LocalConnections({
      maxPerUser: config.socketsPerUserMax,
      eventsPerSecond: config.socketEventsPerSecond,
      eventsBurst: config.socketEventsBurst,
      onLastGone: (userId) => ticks.untrackStudent(userId),
    });
    /** Client events of every connection here; closed at shutdown (see preClose). */
    const gate = new EventGate();
    // The same trust as Fastify's `request.ip`, hop counts included.
    const clientIp = clientIpResolver(trustProxyOption(config.trustProxy));
    let lastLimiterWarning = 0;
    /**
     * Counts a Socket.IO handshake or `/ws` connection of `ip` (a fixed window in Redis, shared
     * by every instance, next to the HTTP limiter's counters); false past the limit. Fails open,
     * as the HTTP limiter does, when Redis does not answer.
     */
    async function admitHandshake(ip: string): Promise<boolean> {
      try {
        const { current } = await hitWindow(app.redis, `${config.redisPrefix}:rl:handshake:${ip}`, config.socketHandshakeRateLimitWindowMs);
        return current <= config.socketHandshakeRateLimitMax;
      } catch (error) {
        if (Date.now() - lastLimiterWarning > 10_000) {
          lastLimiterWarning = Date.now();
          log.warn({ err: error }, 'connection limiter cannot reach Redis; letting connections through');
        }
        return true;
      }
    }

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
      hasLocalSockets: (userId) => connections.has(userId),
      disconnectUser: (userId) => io.in(rooms.user(userId)).disconnectSockets(true),
      // `revocation` is set up below, before any service can run.
      revokeCourseAccess: (revoked) => revokeCourseAccess(revocation, revoked),
    });

    app.decorate('io', io);
    app.decorate('realtime', emitter);
    app.decorate('publisher', publisher);
    app.decorate('presence', presence as Presence);

    const handlers = {
      ...createAuthHandlers({ verifyAccessToken: (token) => app.verifyAccessToken(token) }),
      ...createCourseHandlers({ membership }),
      ...componentSocketHandlers(),
    };

    const ws = new WsHub({
      forkDeps: () => app.forkDeps(),
      log,
      membership,
      handlers,
      verifyAccessToken: (token) => app.verifyAccessToken(token),
      authTimeoutMs: config.wsAuthTimeoutMs,
      onOpen: (userId) => {
        if (!connections.open(userId)) return false;
        trackOpenAttempts(userId).catch((error) => log.error({ err: error, userId }, 'loading open attempts failed'));
        return true;
      },
      onClose: (userId) => connections.close(userId),
      bucketFor: (userId) => connections.bucket(userId),
      gate,
    });
    app.decorate('wsHub', ws);
    // The token is read from the query here and never logged (the logger redacts `token=` in URLs).
    // Connections are counted by the handshake limit below rather than by the HTTP limiter.
    app.get('/ws', { websocket: true, schema: { hide: true }, config: { rateLimit: false } }, (socket, request) => {
      const { token } = request.query as { token?: unknown };
      ws.accept(socket, typeof token === 'string' ? token : undefined, admitHandshake(request.ip));
    });

    // One hook sees each broadcast this instance delivers (emitted here or read from the stream):
    // `/ws` clients get it, a `quiz:started` from any instance starts ticks here for a student
    // with a connection here (its payload carries the deadline), and a `quiz:graded` from any
    // process stops them.
    tapAdapter(io, {
      delivered(packet) {
        try {
          if (packet.event === 'quiz:started') {
            const started = packet.payload as { attemptId: string; studentId: string; deadline: string | null };
            publisher.attemptOpen({ attemptId: started.attemptId, studentId: started.studentId, deadline: started.deadline });
          }
          if (packet.event === 'quiz:graded') ticks.untrack((packet.payload as { attemptId: string }).attemptId);
          ws.deliver(packet);
        } catch (error) {
          log.error({ err: error, event: packet.event }, '/ws delivery failed');
        }
      },
      disconnect: (names) => ws.disconnect(names),
    });

    // What a recovering socket would miss while its session is restored and the two middlewares
    // below run is kept and sent to it once it is connected (see socketio-internals.ts).
    const recoveryGap = bridgeRecoveryGap(io);
    io.use((socket, next) => recoveryGap.track(socket, next));
    // Before the token is looked at, so that a flood of handshakes costs one Redis call each.
    io.use((socket, next) => {
      if (!gate.isOpen) return next(handshakeError('unavailable'));
      admitHandshake(clientIp(socket.request)).then((ok) => next(ok ? undefined : handshakeError('rate_limited')));
    });
    io.use(authenticateHandshake((token) => app.verifyAccessToken(token), log));
    io.use(reauthorizeRecoveredRooms(app.orm, log));
    // Last and synchronous: the socket is counted against the user's cap as it is admitted, so
    // that concurrent handshakes of one user cannot all pass. Released once, whichever comes
    // first: its disconnection, or its connection closing before Socket.IO connected it.
    io.use((socket, next) => {
      const { userId } = socket.data;
      if (socket.conn.readyState !== 'open') return next(handshakeError('unavailable'));
      if (!connections.open(userId)) return next(handshakeError('too_many_connections'));
      let counted = true;
      const release = () => {
        if (!counted) return;
        counted = false;
        connections.close(userId);
      };
      socket.conn.once('close', release);
      socket.once('disconnect', release);
      next();
    });

    io.on('connection', (socket: RealtimeSocket) => {
      recoveryGap.flush(socket);
      const { userId } = socket.data;
      socket.join(rooms.user(userId));

      const deps: BindDeps = { forkDeps: () => app.forkDeps(), log, bucket: connections.bucket(userId), gate };
      bindClientEvents(socket, handlers, deps);

      socket.on('disconnecting', () => {
        for (const courseId of joinedCourseIds(socket.rooms)) {
          membership.left(socket, courseId).catch((error) => log.error({ err: error, courseId }, 'presence leave failed'));
        }
      });

      // A recovered socket is back in its (re-authorised) course rooms: it is online there again.
      if (socket.recovered) {
        for (const courseId of joinedCourseIds(socket.rooms)) {
          membership.entered(socket, courseId).catch((error) => log.error({ err: error, courseId }, 'presence join failed'));
        }
      }
      trackOpenAttempts(userId).catch((error) => log.error({ err: error, userId }, 'loading open attempts failed'));
    });

    /** Ticks for the student's running timed attempts, now that it has a socket here. */
    async function trackOpenAttempts(userId: string) {
      const open = await app.orm.em.fork().execute<Array<{ id: string; deadline: string }>>(
        `SELECT a.id, a.deadline FROM quiz_attempts a JOIN enrollments e ON e.id = a.enrollment_id
          WHERE e.student_id = ? AND a.status = 'in_progress' AND a.deadline IS NOT NULL`,
        [userId],
      );
      for (const attempt of open) publisher.attemptOpen({ attemptId: attempt.id, studentId: userId, deadline: attempt.deadline });
    }

    // Users who lost access to a course (dropped, or the course went back to draft) leave its
    // rooms and presence on every instance at once; the services report it once committed.
    const revocation: CourseRevocationDeps = { io, ws, membership, log };
    io.on('course-access-revoked', (revoked) => {
      try {
        leaveRevokedRooms(revocation, revoked);
      } catch (error) {
        log.error({ err: error, courseId: revoked?.courseId }, 'course access revocation failed');
      }
    });

    // A socket whose token expired waits `socketTokenGraceMs` for `auth:refresh`, then goes.
    const tokenSweep = setInterval(() => {
      const cutoff = Date.now() - config.socketTokenGraceMs;
      for (const socket of io.of('/').sockets.values()) {
        if (socket.data.expiresAt <= cutoff) socket.disconnect(true);
      }
      ws.closeExpired(cutoff);
    }, TOKEN_SWEEP_MS);
    tokenSweep.unref();

    // Shutdown, once the drain is over (server/main.ts), before the HTTP server stops: without it
    // open sockets would keep the server from closing. Client events stop being taken (answered
    // UNAVAILABLE) and the running ones ack; then every connection is closed as a
    // transport close, which clients reconnect from (through the load balancer, to another
    // instance), and for which Socket.IO stores the socket's session for recovery (the adapter
    // writes it to Redis; `closeRedis` below quits only after those writes).
    // `disconnectSockets(true)` would be "io server disconnect": clients never reconnect from it.
    app.addHook('preClose', async () => {
      clearInterval(tokenSweep);
      const started = Date.now();
      if (!(await gate.close(config.shutdownTimeoutMs))) log.warn('client events still running at shutdown; closing their connections anyway');
      ticks.close();
      publisher.close();
      const sockets = io.of('/').sockets.size;
      await closeTransports(io, config.shutdownTimeoutMs);
      ws.closeAll();
      log.info({ sockets, ms: Date.now() - started }, 'client events stopped and sockets closed for recovery elsewhere');
      // Whatever is left (handshakes under way, polling requests).
      io.engine.close();
      // This instance's users leave presence now rather than when its heartbeat expires.
      await presence.stop().catch((error) => log.warn({ err: error }, 'presence cleanup failed'));
    });
    app.addHook('onClose', async () => {
      // Closes the adapter; the HTTP server is Fastify's and is already closed by now.
      await io.close();
      await closeRedis(adapterRedis);
    });
  },
  { name: 'realtime', dependencies: ['config', 'orm', 'redis', 'auth'] },
);

/**
 * Closes the engine.io connection of every socket here and waits (at most `timeoutMs`) until they
 * are closed. Unlike `io.engine.close()`, which discards them, each connection first writes what
 * is queued (the last acks).
 */
async function closeTransports(io: RealtimeServer, timeoutMs: number): Promise<void> {
  const conns = new Set<RealtimeSocket['conn']>();
  for (const socket of io.of('/').sockets.values()) if (socket.conn.readyState !== 'closed') conns.add(socket.conn);
  if (conns.size === 0) return;
  let timer: NodeJS.Timeout | undefined;
  const closed = [...conns].map(
    (conn) =>
      new Promise<void>((resolve) => {
        conn.once('close', () => resolve());
        conn.close();
      }),
  );
  await Promise.race([
    Promise.all(closed),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    }),
  ]);
  clearTimeout(timer);
}
