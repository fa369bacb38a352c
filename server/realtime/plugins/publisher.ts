import fp from 'fastify-plugin';
import { RealtimePublisher } from '../publisher.js';
import { QuizTickScheduler } from '../quiz-ticks.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The one publisher: what services report becomes events here. */
    publisher: RealtimePublisher;
    /** `quiz:tick` for the timed attempts of students connected here (through the publisher). */
    quizTicks: QuizTickScheduler;
  }
}

/**
 * The publisher of this API instance, with the tick scheduler it drives: ticks go to students
 * with a connection here, and the deadline they reach becomes `quiz:expired` once.
 */
export default fp(
  async (app) => {
    const log = app.log.child({ component: 'realtime' });
    const { realtimeConnections: connections } = app;
    const ticks = new QuizTickScheduler({
      onTick: (tick) => publisher.attemptTicked(tick),
      onLaunchTick: (tick) => publisher.launchTicked(tick),
      onDeadline: (attempt) => {
        publisher.attemptReachedDeadline(attempt).catch((error) => log.error({ err: error, attemptId: attempt.attemptId }, 'quiz:expired failed'));
      },
      // A student whose handshake is under way counts: a quiz started meanwhile keeps its ticks.
      isConnected: (userId) => connections.local.expects(userId),
    });
    const publisher = new RealtimePublisher({
      emitter: app.realtime,
      orm: app.orm,
      redis: app.redis,
      redisPrefix: app.config.redisPrefix,
      log,
      ticks,
      hasLocalSockets: (userId) => connections.local.expects(userId),
      disconnectUser: (userId) => app.accessRevocations.accountChanged(userId),
      revokeCourseAccess: (revoked) => app.accessRevocations.revokeCourse(revoked),
      broadcastDeadlinesMoved: (moved) => app.deadlineMoves.broadcast(moved),
    });
    app.deadlineMoves.on('moved', (moved) => publisher.attemptDeadlinesMoved(moved));
    app.decorate('publisher', publisher);
    app.decorate('quizTicks', ticks);
  },
  { name: 'realtime-publisher', dependencies: ['config', 'orm', 'redis', 'realtime-io', 'realtime-connections'] },
);
