import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { createdAt, enumColumn, updatedAt, uuidPrimaryKey } from './columns.js';
import { QUESTION_TYPES } from './enums.js';
import { Quiz } from './quiz.entity.js';

/** One option of a `multiple_choice` question (stored as `[{id, text, isCorrect}]`). */
export interface QuizOption {
  id: string;
  text: string;
  isCorrect: boolean;
}

/** `short_answer` key: the accepted answers, compared after trimming and collapsing spaces. */
export interface ShortAnswerKey {
  accepted: string[];
  caseSensitive: boolean;
}

/** `true_false` questions store a boolean, `short_answer` ones a `ShortAnswerKey`. */
export type CorrectAnswer = boolean | ShortAnswerKey;

export const QuizQuestion = defineEntity({
  name: 'QuizQuestion',
  tableName: 'quiz_questions',
  properties: {
    id: uuidPrimaryKey(),
    // CASCADE: questions are part of their quiz; one with attempts cannot be deleted (the API
    // answers 409, and attempts keep a snapshot of each graded question in `results`).
    quiz: () => p.manyToOne(Quiz).ref().deleteRule('cascade').foreignKeyName('quiz_questions_quiz_id_foreign').index('quiz_questions_quiz_id_index'),
    questionText: p.text(),
    questionType: enumColumn(QUESTION_TYPES),
    points: p
      .integer()
      .default(1)
      .onCreate(() => 1),
    orderIndex: p
      .integer()
      .default(0)
      .onCreate(() => 0),
    options: p.json<QuizOption[]>().columnType('jsonb').nullable(),
    correctAnswer: p.json<CorrectAnswer>().columnType('jsonb').nullable(),
    explanation: p.text().nullable(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  checks: [
    { name: 'quiz_questions_points_check', expression: '(points >= 0)' },
    { name: 'quiz_questions_order_index_check', expression: '(order_index >= 0)' },
  ],
});

export type IQuizQuestion = InferEntity<typeof QuizQuestion>;
