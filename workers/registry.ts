import type { QueueKey } from '../server/platform/queues/contract.js';
import { certificatesProcessor } from './certificates.worker.js';
import { maintenanceProcessor } from './maintenance.worker.js';
import { progressProcessor } from './progress.worker.js';
import type { Processor } from './processor.js';
import { quizDeadlinesProcessor } from './quiz-deadlines.worker.js';
import { regradesProcessor } from './regrades.worker.js';

/** The processor of every queue; the runtime starts one BullMQ worker each. */
export const processors: { [K in QueueKey]: Processor<K> } = {
  maintenance: maintenanceProcessor,
  'quiz-deadlines': quizDeadlinesProcessor,
  progress: progressProcessor,
  certificates: certificatesProcessor,
  regrades: regradesProcessor,
};
