import type { FastifyInstance } from 'fastify';
import { deadlineJobId } from '../../../workers/quiz-deadlines.js';
import { QUEUE_CALL_TIMEOUT_MS, withTimeout } from '../../platform/redis.js';
import type { AttemptDeps } from './attempts.service.js';

/**
 * Attempt operations as an API instance runs them: deadlines go to the `quiz-deadlines` queue.
 * Neither may hold the request when Redis is down or hangs: a deadline job that could not be
 * queued is covered by the sweep (it grades every running attempt past deadline + grace), and a
 * job left behind by a cancel finds the attempt graded.
 */
export function attemptDepsFor(app: FastifyInstance): AttemptDeps {
  const timeoutMs = QUEUE_CALL_TIMEOUT_MS;
  return {
    config: app.config,
    async scheduleDeadline(attemptId, runAt) {
      await withTimeout(app.queues.add('quiz-deadlines', { attemptId }, { delay: Math.max(0, runAt.getTime() - Date.now()) }), timeoutMs, 'the deadline job').catch(
        (error: unknown) => app.log.warn({ err: error, attemptId }, 'deadline job not queued; the sweep will grade the attempt'),
      );
    },
    async cancelDeadline(attemptId) {
      // A job that is running right now cannot be removed; it will find the attempt graded.
      await withTimeout(app.queues.get('quiz-deadlines').remove(deadlineJobId(attemptId)), timeoutMs, 'removing the deadline job').catch(() => undefined);
    },
  };
}
