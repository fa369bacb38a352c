import type { ClientEventHandlers } from '../../realtime/ack.js';
import { recordLessonProgress } from './progress.service.js';

/** `lesson:progress`: the same service and the same events as `POST /lessons/:id/progress`. */
export function createProgressHandlers(): ClientEventHandlers<'lesson:progress'> {
  return {
    async 'lesson:progress'({ user, deps }, { lessonId, ...input }) {
      const { lessonProgress, enrollment } = await recordLessonProgress(deps, user, lessonId, input);
      return { lessonProgress, enrollment };
    },
  };
}
