import { maintenanceQueue } from './maintenance.js';
import { quizDeadlinesQueue } from './quiz-deadlines.js';
import { progressQueue } from './progress.js';
import { certificatesQueue } from './certificates.js';
import type { QueueDefinition } from './queue-definition.js';

/** Every queue of the server; the worker runtime and the producers both read this list. */
export const queueDefinitions = {
  maintenance: maintenanceQueue,
  'quiz-deadlines': quizDeadlinesQueue,
  progress: progressQueue,
  certificates: certificatesQueue,
} satisfies Record<string, QueueDefinition<never, unknown>>;

export type QueueKey = keyof typeof queueDefinitions;
