import type { QuizType } from '../../entities/enums.js';

/** What decides whether a viewer sees a graded attempt's answer key (correct answers, explanations). */
export interface AnswerKeyContext {
  /** The course owner or an admin: always sees the key. */
  viewerIsManager: boolean;
  /** The quiz setting; without it students never see the key. */
  showCorrectAnswers: boolean;
  quizType: QuizType;
  /** Attempts the student may take in all (`maxAttempts`); null = unlimited. */
  attemptsAllowed: number | null;
  /** The student's finished attempts at the quiz (graded; a running one does not count). */
  attemptsUsed: number;
  /** The attempt belongs to a live launch still open: classmates are still answering. */
  launchOpen?: boolean;
}

/**
 * Whether the answer key is shown. A practice quiz counts for nothing, so its key comes with each
 * result. A graded quiz shows it only once the student cannot try again: every allowed attempt
 * used (so with unlimited attempts, never), since a key seen after attempt 1 would make attempt 2
 * a formality. A launched attempt shows it only once its launch has closed, since the rest of the
 * class may still be answering. Managers always see it.
 */
export function keyRevealed(context: AnswerKeyContext): boolean {
  if (context.viewerIsManager) return true;
  if (!context.showCorrectAnswers || context.launchOpen) return false;
  if (context.quizType === 'practice') return true;
  return context.attemptsAllowed !== null && context.attemptsUsed >= context.attemptsAllowed;
}
