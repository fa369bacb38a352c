import fp from 'fastify-plugin';
import { bindClientEvents, type BindDeps } from '../ack.js';
import { rooms } from '../contract.js';
import { joinedCourseIds } from '../course-rooms.js';
import { leaveRevokedRooms } from '../course-revocation.js';
import { authenticateHandshake, handshakeError, reauthorizeRecoveredRooms } from '../socket-auth.js';
import { bridgeRecoveryGap, tapAdapter } from '../socketio-internals.js';
import type { RealtimeSocket } from '../types.js';
import type { AttemptOpen } from '../../modules/deps.js';
import { connectionStanding } from '../realtime.queries.js';
import { clientEventHandlers } from './handlers.js';

/**
 * Socket.IO clients: handshake admission and authentication, rooms re-authorised on recovery,
 * client events bound to their handlers, presence of the course rooms a socket leaves. Also what
 * every broadcast this instance delivers sets off (`/ws` delivery, ticks), and revocations.
 */
export default fp(
  async (app) => {
    const { io, wsHub: ws, publisher, quizTicks: ticks, courseMembership: membership, realtimeConnections: connections } = app;
    const log = app.log.child({ component: 'realtime' });
    const { local, gate, joinGrants } = connections;

    // One hook sees each broadcast this instance delivers (emitted here or read from the stream):
    // `/ws` clients get it, a `quiz:started` from any instance starts ticks here for a student
    // with a connection here (its payload carries the deadline), and a `quiz:graded` from any
    // process stops them.
    tapAdapter(io, {
      delivered(packet) {
        try {
          if (packet.event === 'quiz:started') {
            const started = packet.payload as { attemptId: string; studentId: string; deadline: string | null; launchId?: string };
            publisher.attemptOpen({
              attemptId: started.attemptId,
              studentId: started.studentId,
              deadline: started.deadline,
              ...(started.launchId ? { launchId: started.launchId } : {}),
            });
          }
          if (packet.event === 'quiz:graded') ticks.untrack((packet.payload as { attemptId: string }).attemptId);
          ws.deliver(packet);
        } catch (error) {
          log.error({ err: error, event: packet.event }, '/ws delivery failed');
        }
      },
      disconnect: (names) => ws.disconnect(names),
    });

    // What a recovering socket would miss while its session is restored and the middlewares
    // below run is kept and sent to it once it is connected (see socketio-internals.ts).
    const recoveryGap = bridgeRecoveryGap(io);
    io.use((socket, next) => recoveryGap.track(socket, next));
    // Before the token is looked at, so that a flood of handshakes costs one Redis call each.
    io.use((socket, next) => {
      if (!gate.isOpen) return next(handshakeError('unavailable'));
      connections.admitHandshake(connections.clientIp(socket.request)).then(
        (ok) => next(ok ? undefined : handshakeError('rate_limited')),
        () => next(handshakeError('unavailable')),
      );
    });
    // The handshake reads the user's standing, running timed attempts and (a student's) courses in
    // one statement; from that read until the socket is admitted, the user counts as expected here
    // (`local.arrive`), so a quiz started in between still ticks here. The courses become the
    // socket's join grants, of the generation current before the read (join-grants.ts).
    const arrivals = new WeakMap<RealtimeSocket, { openAttempts: AttemptOpen[]; arrived: () => void }>();
    io.use(
      authenticateHandshake(async (token, socket) => {
        let arrived = () => {};
        try {
          const generation = joinGrants.begin();
          const user = await app.verifyAccessToken(token, (userId) => {
            arrived = local.arrive(userId);
            socket.conn.once('close', arrived);
            return connectionStanding(app.orm.em, userId);
          });
          joinGrants.grant(socket, generation, user.standing.joinCourseIds);
          arrivals.set(socket, { openAttempts: user.standing.openAttempts, arrived });
          return user;
        } catch (error) {
          arrived();
          throw error;
        }
      }, log),
    );
    io.use(reauthorizeRecoveredRooms(app.orm, log));
    // Last and synchronous: the socket is counted against the user's cap as it is admitted, so
    // that concurrent handshakes of one user cannot all pass. Released once, whichever comes
    // first: its disconnection, or its connection closing before Socket.IO connected it.
    io.use((socket, next) => {
      const { userId } = socket.data;
      arrivals.get(socket)?.arrived();
      if (socket.conn.readyState !== 'open') return next(handshakeError('unavailable'));
      if (!local.open(userId)) return next(handshakeError('too_many_connections'));
      let counted = true;
      const release = () => {
        if (!counted) return;
        counted = false;
        local.close(userId);
      };
      socket.conn.once('close', release);
      socket.once('disconnect', release);
      next();
    });

    const handlers = clientEventHandlers(app);
    io.on('connection', (socket: RealtimeSocket) => {
      recoveryGap.flush(socket);
      const { userId } = socket.data;
      void socket.join(rooms.user(userId));

      // `forkDeps` is called per event, once the app is ready (the services plugin decorates it after this one).
      const deps: BindDeps = { forkDeps: () => app.forkDeps(), log, bucket: local.bucket(userId), gate };
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
      // Ticks for the student's running timed attempts (read at the handshake), now that it has a socket here.
      for (const attempt of arrivals.get(socket)?.openAttempts ?? []) publisher.attemptOpen(attempt);
      arrivals.delete(socket);
    });

    // Users who lost access to a course (dropped, or the course went back to draft) leave its
    // rooms and presence on every instance at once; the services report it once committed. A
    // deactivated account, or one whose role changed, is disconnected. Either voids the join
    // grants read before it.
    app.accessRevocations.on('course', (revoked) => {
      joinGrants.revoked();
      try {
        leaveRevokedRooms({ io, ws, membership, log }, revoked);
      } catch (error) {
        log.error({ err: error, courseId: revoked?.courseId }, 'course access revocation failed');
      }
    });
    app.accessRevocations.on('account', (userId) => {
      joinGrants.revoked();
      io.local.in(rooms.user(userId)).disconnectSockets(true);
    });
  },
  { name: 'realtime-sockets', dependencies: ['orm', 'auth', 'realtime-io', 'realtime-connections', 'realtime-publisher', 'realtime-presence', 'realtime-ws'] },
);
