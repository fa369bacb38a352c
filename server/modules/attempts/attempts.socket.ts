import { saveAnswer, submitAttempt, syncAttempt } from './attempts.service.js';
import type { ClientEventHandlers } from '../../realtime/ack.js';

/** `quiz:answer`, `quiz:submit`, `quiz:sync`: the attempt services of the HTTP routes. */
export function createQuizHandlers(): ClientEventHandlers<'quiz:answer' | 'quiz:submit' | 'quiz:sync'> {
  return {
    'quiz:answer': ({ user, deps }, { attemptId, questionId, answer }) => saveAnswer(deps, user, attemptId, questionId, answer),
    'quiz:submit': ({ user, deps }, { attemptId }) => submitAttempt(deps, user, attemptId),
    'quiz:sync': ({ user, deps }, { attemptId }) => syncAttempt(deps, user, attemptId),
  };
}
