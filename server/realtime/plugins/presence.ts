import fp from 'fastify-plugin';
import { ThrottledWarning } from '../../plugins/errors.js';
import { CourseMembership } from '../course-membership.js';
import { RedisPresence } from '../redis-presence.js';
import { recordAttendance } from '../../modules/live-sessions/sessions.service.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Who is online per course, across instances. */
    presence: RedisPresence;
    /** Presence bookkeeping of connections entering and leaving course rooms. */
    courseMembership: CourseMembership;
  }
}

/**
 * Presence in Redis with per-instance heartbeats (a dead instance takes its users offline); the
 * changes reach the course's instructors in batches through the publisher as `presence:updated`
 * (at most 4 per second per course, across instances), and record live session attendance.
 * Stopped by the lifecycle part, once the connections are closed.
 */
export default fp(
  async (app) => {
    const { config, publisher } = app;
    const log = app.log.child({ component: 'realtime' });
    const presenceWarning = new ThrottledWarning('presence cannot reach Redis; kept locally until it answers');
    const presence = new RedisPresence({
      redis: app.redis,
      redisPrefix: config.redisPrefix,
      heartbeatMs: config.presenceHeartbeatMs,
      ttlMs: config.presenceTtlMs,
      onBatch: (batch) => {
        publisher.presenceChanged(batch);
        // Students who come online during a live session attend it (those online at its start
        // were recorded by the start).
        void recordAttendance({ em: app.orm.em.fork(), log }, batch);
      },
      onError: (error) => presenceWarning.noticed(error, log),
    });
    await presence.start().catch((error) => log.warn({ err: error }, 'presence heartbeat not written yet'));
    app.decorate('presence', presence);
    app.decorate('courseMembership', new CourseMembership({ presence }));
  },
  { name: 'realtime-presence', dependencies: ['config', 'orm', 'redis', 'realtime-publisher'] },
);
