import type { QuestionType } from '../../entities/enums.js';
import type { ChoiceOption, GradableQuestion } from '../../server/domain/grading.js';

/** A quiz question as the bare servers read it with raw `pg`. */
export interface QuestionRow {
  id: string;
  question_text: string;
  question_type: QuestionType;
  points: number;
  options: ChoiceOption[] | null;
  correct_answer: unknown;
  explanation: string | null;
}

/** The question rows as the product's pure `gradeAttempt` takes them. */
export function gradableQuestions(rows: QuestionRow[]): GradableQuestion[] {
  return rows.map((q) => ({
    id: q.id,
    questionText: q.question_text,
    questionType: q.question_type,
    points: q.points,
    options: q.options,
    correctAnswer: q.correct_answer,
    explanation: q.explanation,
  }));
}
