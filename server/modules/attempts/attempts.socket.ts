import { getAttempt, saveAnswer, submitAttempt } from './attempts.service.js';
import { announceGrade, attemptDepsOf } from '../transition.js';
import type { ClientEventHandlers } from '../../realtime/ack.js';

/** `quiz:answer`, `quiz:submit`, `quiz:sync`: the attempt services of the HTTP routes. */
export function createQuizHandlers(): ClientEventHandlers<'quiz:answer' | 'quiz:submit' | 'quiz:sync'> {
  return {
    async 'quiz:answer'({ em, user, deps }, { attemptId, questionId, answer }) {
      const saved = await saveAnswer(em, user, attemptId, questionId, answer, attemptDepsOf(deps));
      deps.publisher.answersSaved(attemptId, [questionId]);
      return saved;
    },

    async 'quiz:submit'({ em, user, deps }, { attemptId }) {
      // `quiz:graded` goes out once the grade is committed; the lesson a pass completes follows.
      const { outcome, attempt } = await submitAttempt(em, user, attemptId, undefined, attemptDepsOf(deps), (graded) => announceGrade(deps, graded));
      if (outcome.graded && outcome.lessonProgress) deps.publisher.lessonProgressRecorded(outcome.lessonProgress);
      return attempt;
    },

    async 'quiz:sync'({ em, user, deps }, { attemptId }) {
      const attempt = await getAttempt(em, user, attemptId);
      // The student's own running timed attempt ticks on this instance from now on.
      if (attempt.studentId === user.id && attempt.status === 'in_progress') {
        deps.publisher.attemptOpen({ attemptId: attempt.id, studentId: attempt.studentId, deadline: attempt.deadline });
      }
      return attempt;
    },
  };
}
