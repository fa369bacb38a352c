import type { ClientEventHandlers } from '../../realtime/ack.js';
import { recordLessonProgress } from './progress.service.js';

/** `lesson:progress`: the same service and the same events as `POST /lessons/:id/progress`. */
export function createProgressHandlers(): ClientEventHandlers<'lesson:progress'> {
  return {
    async 'lesson:progress'({ em, user, deps }, { lessonId, ...input }) {
      const result = await recordLessonProgress(em, user, lessonId, input);
      deps.publisher.lessonProgressRecorded(result);
      return { lessonProgress: result.lessonProgress, enrollment: result.enrollment };
    },
  };
}
