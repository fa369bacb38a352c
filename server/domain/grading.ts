import type { QuestionType } from '../../entities/enums.js';
import { percentageHalfUp, roundHalfUp2 } from './numbers.js';

export interface ChoiceOption {
  id: string;
  text: string;
  isCorrect: boolean;
}

export interface ShortAnswerKey {
  accepted: string[];
  caseSensitive?: boolean;
}

/** A question as graded: what the result snapshots, so later edits never change a grade. */
export interface GradableQuestion {
  id: string;
  questionText: string;
  questionType: QuestionType;
  points: number;
  options: ChoiceOption[] | null;
  correctAnswer: unknown;
  explanation: string | null;
}

export interface QuestionResult {
  questionId: string;
  /** Points earned. */
  points: number;
  maxPoints: number;
  correct: boolean;
  /** The answer as graded (null when none was given or its shape was wrong). */
  answer: unknown;
  snapshot: GradableQuestion;
}

export interface AttemptGrade {
  score: number;
  maxScore: number;
  percentage: number;
  isPassed: boolean;
  questions: QuestionResult[];
}

/** Trims and collapses inner white space, so `" a   b "` and `"a b"` compare equal. */
export function normalizeText(text: string): string {
  return text.trim().replace(/\s+/g, ' ');
}

/**
 * Checks that an answer has the shape its question type expects: an array of distinct option
 * ids of this question (multiple choice), a boolean (true/false), a string (short answer).
 * Returns a message for the client, or null when the shape is right.
 */
export function answerShapeError(question: Pick<GradableQuestion, 'questionType' | 'options'>, answer: unknown): string | null {
  switch (question.questionType) {
    case 'multiple_choice': {
      if (!Array.isArray(answer)) return 'A multiple-choice answer is an array of option ids';
      if (answer.length > (question.options?.length ?? 0)) return 'Too many options chosen';
      const ids = new Set((question.options ?? []).map((option) => option.id));
      for (const choice of answer) {
        if (typeof choice !== 'string' || !ids.has(choice))
          return `Unknown option id ${typeof choice === 'string' ? JSON.stringify(choice.slice(0, 64)) : `of type ${Array.isArray(choice) ? 'array' : typeof choice}`}`;
      }
      if (new Set(answer).size !== answer.length) return 'An option is chosen twice';
      return null;
    }
    case 'true_false':
      return typeof answer === 'boolean' ? null : 'A true/false answer is a boolean';
    case 'short_answer':
      if (typeof answer !== 'string') return 'A short answer is a string';
      return answer.length > 10_000 ? 'The answer is too long' : null;
  }
}

function isCorrect(question: GradableQuestion, answer: unknown): boolean {
  switch (question.questionType) {
    case 'multiple_choice': {
      const chosen = new Set(answer as string[]);
      const correct = (question.options ?? []).filter((option) => option.isCorrect).map((option) => option.id);
      return correct.length > 0 && chosen.size === correct.length && correct.every((id) => chosen.has(id));
    }
    case 'true_false':
      return answer === question.correctAnswer;
    case 'short_answer': {
      const key = question.correctAnswer as ShortAnswerKey | null;
      if (!key || !Array.isArray(key.accepted)) return false;
      const given = normalizeText(answer as string);
      return key.accepted.some((accepted) =>
        key.caseSensitive ? normalizeText(accepted) === given : normalizeText(accepted).toLowerCase() === given.toLowerCase(),
      );
    }
  }
}

/** Grades one question: full points for a right answer, else 0. A wrong shape is simply wrong. */
export function gradeQuestion(question: GradableQuestion, answer: unknown): QuestionResult {
  const given = answer !== undefined && answer !== null && answerShapeError(question, answer) === null ? answer : null;
  const correct = given !== null && isCorrect(question, given);
  return { questionId: question.id, points: correct ? question.points : 0, maxPoints: question.points, correct, answer: given, snapshot: question };
}

/**
 * Grades an attempt: `score` is the points earned, `maxScore` the points available,
 * `percentage` their ratio × 100 rounded half-up to 2 decimals, `isPassed` whether it reaches
 * `passingScore`. Questions are graded in the order given (the attempt's own order).
 */
export function gradeAttempt(questions: GradableQuestion[], answers: Record<string, unknown>, passingScore: number): AttemptGrade {
  const results = questions.map((question) => gradeQuestion(question, answers[question.id]));
  const score = roundHalfUp2(results.reduce((sum, result) => sum + result.points, 0));
  const maxScore = roundHalfUp2(results.reduce((sum, result) => sum + result.maxPoints, 0));
  const percentage = percentageHalfUp(score, maxScore);
  return { score, maxScore, percentage, isPassed: percentage >= passingScore, questions: results };
}
