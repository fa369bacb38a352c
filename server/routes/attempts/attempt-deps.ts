import type { FastifyInstance } from 'fastify';
import { deadlineJobId } from '../../../workers/quiz-deadlines.js';
import type { AttemptDeps } from './attempts.service.js';

/** Attempt operations as an API instance runs them: deadlines go to the `quiz-deadlines` queue. */
export function attemptDepsFor(app: FastifyInstance): AttemptDeps {
  return {
    config: app.config,
    async scheduleDeadline(attemptId, runAt) {
      await app.queues.add('quiz-deadlines', { attemptId }, { delay: Math.max(0, runAt.getTime() - Date.now()) });
    },
    async cancelDeadline(attemptId) {
      // A job that is running right now cannot be removed; it will find the attempt graded.
      await app.queues
        .get('quiz-deadlines')
        .remove(deadlineJobId(attemptId))
        .catch(() => undefined);
    },
  };
}
