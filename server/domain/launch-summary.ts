import { roundHalfUp2 } from './numbers.js';

/** A finished (or running) attempt of a launch, as the summary reads it. */
export interface LaunchAttemptResult {
  status: string;
  score: number | null;
  maxScore: number | null;
  percentage: number | null;
  isPassed: boolean | null;
  /** Per question as graded (null for attempts never graded). */
  questions: Array<{ questionId: string; points: number; maxPoints: number; correct: boolean }> | null;
}

export interface LaunchQuestionSummary {
  questionId: string;
  /** Graded attempts that held this question. */
  graded: number;
  /** Share of those answering it correctly, 0–1 (null when none was graded). */
  correctRate: number | null;
  meanPoints: number | null;
  maxPoints: number | null;
}

export interface LaunchSummary {
  started: number;
  graded: number;
  abandoned: number;
  passed: number;
  /** Mean score and percentage over the graded attempts (null when none was graded). */
  meanScore: number | null;
  meanPercentage: number | null;
  /** Per question, in `questionIds` order (the quiz's order); questions graded but since deleted follow. */
  questions: LaunchQuestionSummary[];
}

const mean = (values: number[]) => (values.length === 0 ? null : roundHalfUp2(values.reduce((sum, value) => sum + value, 0) / values.length));

/**
 * The summary of a launch once its attempts are finished: how many were graded, abandoned and
 * passed, the mean score and percentage, and per question the share answered correctly and the
 * mean points. Only graded attempts count towards means and rates (an abandoned attempt has no
 * grade). Full item statistics (discrimination, distractors) come with regrading (SPEC §8).
 */
export function summarizeLaunch(attempts: readonly LaunchAttemptResult[], questionIds: readonly string[]): LaunchSummary {
  const graded = attempts.filter((attempt) => attempt.status === 'graded');
  const perQuestion = new Map<string, { correct: number; points: number[]; maxPoints: number | null }>();
  for (const id of questionIds) perQuestion.set(id, { correct: 0, points: [], maxPoints: null });
  for (const attempt of graded) {
    for (const result of attempt.questions ?? []) {
      let entry = perQuestion.get(result.questionId);
      if (!entry) perQuestion.set(result.questionId, (entry = { correct: 0, points: [], maxPoints: null }));
      entry.points.push(result.points);
      entry.maxPoints = result.maxPoints;
      if (result.correct) entry.correct++;
    }
  }
  return {
    started: attempts.length,
    graded: graded.length,
    abandoned: attempts.filter((attempt) => attempt.status === 'abandoned').length,
    passed: graded.filter((attempt) => attempt.isPassed).length,
    meanScore: mean(graded.map((attempt) => attempt.score ?? 0)),
    meanPercentage: mean(graded.map((attempt) => attempt.percentage ?? 0)),
    questions: [...perQuestion].map(([questionId, entry]) => ({
      questionId,
      graded: entry.points.length,
      correctRate: entry.points.length === 0 ? null : roundHalfUp2(entry.correct / entry.points.length),
      meanPoints: mean(entry.points),
      maxPoints: entry.maxPoints,
    })),
  };
}
