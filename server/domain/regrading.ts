import type { QuestionType } from '../../entities/enums.js';
import { gradeAttempt, type AttemptGrade, type ChoiceOption, type GradableQuestion } from './grading.js';
import { normalizeQuestionContent, QuestionRuleError } from './question-rules.js';

/** What a question is now, as a key correction compares it. */
export interface CorrectableQuestion {
  questionText: string;
  questionType: QuestionType;
  points: number;
  options: ChoiceOption[] | null;
  correctAnswer: unknown;
}

/** What a question edit asks for (absent: unchanged). */
export interface QuestionEdit {
  questionText?: string;
  questionType?: QuestionType;
  points?: number;
  orderIndex?: number;
  options?: Array<{ id?: string; text: string; isCorrect: boolean }> | null;
  correctAnswer?: unknown;
  explanation?: string | null;
}

/** What may change once a quiz has attempts, as the refusal says it. */
export const CORRECTABLE =
  "Once students have attempted a quiz, only a question's answer key (correctAnswer, options' isCorrect), its points and its explanation may change";

/** A correction refused: `frozen` (something graded answers depend on would change) or `shape` (the key is malformed). */
export class CorrectionError extends Error {
  override name = 'CorrectionError';
  constructor(
    readonly kind: 'frozen' | 'shape',
    message: string,
  ) {
    super(message);
  }
}

/** What a correction changes: the new key and points, and whether grades may move (`keyChanged`). */
export interface Correction {
  options: ChoiceOption[] | null;
  correctAnswer: unknown;
  points: number;
  keyChanged: boolean;
}

const correctCount = (options: ChoiceOption[] | null) => (options ?? []).filter((option) => option.isCorrect).length;

/**
 * Checks an edit of a question that students have answered. Its text, type, option ids and texts
 * (and their order), and whether it is single or multiple choice stay frozen: answers were given
 * to them. The answer key and the points may be corrected; a field sent with its current value is
 * no change. Throws `CorrectionError` (`frozen`, `shape`); returns the corrected key otherwise.
 */
export function correctQuestion(current: CorrectableQuestion, edit: QuestionEdit): Correction {
  const frozen = (what: string) => new CorrectionError('frozen', `${CORRECTABLE}; ${what} is frozen`);
  if (edit.questionText !== undefined && edit.questionText !== current.questionText) throw frozen('the question text');
  if (edit.questionType !== undefined && edit.questionType !== current.questionType) throw frozen('the question type');
  if (edit.orderIndex !== undefined) throw frozen('the question order');
  let options = current.options;
  let correctAnswer = current.correctAnswer;
  if (edit.options !== undefined || edit.correctAnswer !== undefined) {
    if (current.questionType === 'multiple_choice') {
      if (edit.correctAnswer !== undefined && edit.correctAnswer !== null) {
        throw new CorrectionError('shape', 'Multiple-choice questions mark correct options with isCorrect, not correctAnswer');
      }
      if (edit.options !== undefined) {
        const before = current.options ?? [];
        const after = edit.options ?? [];
        if (after.length !== before.length || after.some((option, i) => option.id !== before[i].id)) throw frozen('the list of option ids (and their order)');
        if (after.some((option, i) => option.text !== before[i].text)) throw frozen('the text of each option');
        options = after.map((option) => ({ id: option.id!, text: option.text, isCorrect: option.isCorrect }));
      }
    } else {
      if (edit.options !== undefined && edit.options !== null)
        throw new CorrectionError('shape', `A ${current.questionType.replace('_', '/')} question has no options`);
      if (edit.correctAnswer !== undefined) correctAnswer = edit.correctAnswer;
    }
    try {
      const normalized = normalizeQuestionContent({ questionType: current.questionType, options, correctAnswer });
      options = normalized.options;
      correctAnswer = normalized.correctAnswer;
    } catch (error) {
      if (error instanceof QuestionRuleError) throw new CorrectionError('shape', error.message);
      throw error;
    }
    if (current.questionType === 'multiple_choice' && correctCount(options) > 1 !== correctCount(current.options) > 1) {
      throw frozen('whether it is single or multiple choice (how many options are correct: one, or several)');
    }
  }
  const points = edit.points ?? current.points;
  const keyChanged =
    points !== current.points ||
    JSON.stringify(options) !== JSON.stringify(current.options) ||
    JSON.stringify(correctAnswer ?? null) !== JSON.stringify(current.correctAnswer ?? null);
  return { options, correctAnswer, points, keyChanged };
}

/** The part of a grade a regrade compares and reports. */
export interface GradeSummary {
  score: number;
  maxScore: number;
  percentage: number;
  isPassed: boolean;
}

/** The regrade of one attempt: the new grade, and whether its summary moved. */
export interface Regraded {
  grade: AttemptGrade;
  changed: boolean;
}

/**
 * Regrades an attempt with the same code that graded it first (`gradeAttempt`): its saved answers
 * against the questions as they are now, in the attempt's order, under the quiz's current passing
 * score. `changed` when the score, the maximum, the percentage or the pass differs from `previous`
 * (per-question results may move without the summary moving: then it is not a change).
 */
export function regradeAttempt(questions: GradableQuestion[], answers: Record<string, unknown>, passingScore: number, previous: GradeSummary): Regraded {
  const grade = gradeAttempt(questions, answers, passingScore);
  const changed =
    grade.score !== previous.score || grade.maxScore !== previous.maxScore || grade.percentage !== previous.percentage || grade.isPassed !== previous.isPassed;
  return { grade, changed };
}
