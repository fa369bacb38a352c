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

/** A handshake on its way to a connected socket (see the middlewares below). */
interface Admission {
  openAttempts: AttemptOpen[];
  /** Ends the user's arrival (`local.arrive`); more calls do nothing. */
  arrived: () => void;
  /** The listener on the connection's close until the socket connects. */
  closed: () => void;
}

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
    //
    // What a socket keeps once connected is per-socket memory (bench/scenarios/memory.ts): no
    // closure of its own (with its context and, under tsx's keepNames, a dictionary of properties:
    // ~0.4 KiB each) and no `once` wrapper (~0.2 KiB each). Until it connects, its admission holds
    // the one listener on its connection's close that ends the arrival and releases its count;
    // at connection the listener goes, and a listener shared by all sockets releases the count at
    // disconnection.
    const admissions = new WeakMap<RealtimeSocket, Admission>();
    /** Sockets counted against their user's cap (`local.open`) and not released yet. */
    const counted = new WeakSet<RealtimeSocket>();
    const release = (socket: RealtimeSocket) => {
      if (counted.delete(socket)) local.close(socket.data.userId);
    };
    const releaseOnDisconnect = function (this: RealtimeSocket) {
      release(this);
    };
    io.use(
      authenticateHandshake(async (token, socket) => {
        const admission: Admission = { openAttempts: [], arrived: () => {}, closed: () => {} };
        admission.closed = () => {
          admission.arrived();
          release(socket);
        };
        admissions.set(socket, admission);
        socket.conn.on('close', admission.closed);
        try {
          const generation = joinGrants.begin();
          const user = await app.verifyAccessToken(token, (userId) => {
            admission.arrived = local.arrive(userId);
            return connectionStanding(app.orm.em, userId);
          });
          joinGrants.grant(socket, generation, user.standing.joinCourseIds);
          admission.openAttempts = user.standing.openAttempts;
          return user;
        } catch (error) {
          admission.arrived();
          socket.conn.off('close', admission.closed);
          admissions.delete(socket);
          throw error;
        }
      }, log),
    );
    io.use(reauthorizeRecoveredRooms(app.orm, log));
    // Last and synchronous: the socket is counted against the user's cap as it is admitted, so
    // that concurrent handshakes of one user cannot all pass. Released once, whichever comes
    // first: its disconnection, or its connection closing before Socket.IO connected it.
    io.use((socket, next) => {
      admissions.get(socket)?.arrived();
      if (socket.conn.readyState !== 'open') return next(handshakeError('unavailable'));
      if (!local.open(socket.data.userId)) return next(handshakeError('too_many_connections'));
      counted.add(socket);
      socket.on('disconnect', releaseOnDisconnect);
      next();
    });

    const handlers = clientEventHandlers(app);
    const leavePresence = function (this: RealtimeSocket) {
      for (const courseId of joinedCourseIds(this.rooms)) {
        membership.left(this, courseId).catch((error) => log.error({ err: error, courseId }, 'presence leave failed'));
      }
    };
    // Called per event, once the app is ready (the services plugin decorates it after this one).
    const forkDeps = () => app.forkDeps();
    io.on('connection', (socket: RealtimeSocket) => {
      const admission = admissions.get(socket);
      if (admission) {
        socket.conn.off('close', admission.closed);
        admissions.delete(socket);
      }
      recoveryGap.flush(socket);
      const { userId } = socket.data;
      void socket.join(rooms.user(userId));

      const deps: BindDeps = { forkDeps, log, bucket: local.bucket(userId), gate };
      bindClientEvents(socket, handlers, deps);

      socket.on('disconnecting', leavePresence);

      // A recovered socket is back in its (re-authorised) course rooms: it is online there again.
      if (socket.recovered) {
        for (const courseId of joinedCourseIds(socket.rooms)) {
          membership.entered(socket, courseId).catch((error) => log.error({ err: error, courseId }, 'presence join failed'));
        }
      }
      // Ticks for the student's running timed attempts (read at the handshake), now that it has a socket here.
      for (const attempt of admission?.openAttempts ?? []) publisher.attemptOpen(attempt);
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
