import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { createdAt, enumColumn, optionalTimestamp, uuidPrimaryKey } from './columns.js';
import { Enrollment } from './enrollment.entity.js';
import { ATTEMPT_STATUSES, OVERDUE_HANDLINGS } from './enums.js';
import { QuizLaunch } from './quiz-launch.entity.js';
import { Quiz } from './quiz.entity.js';

/** The attempt's own question order, fixed at start: per question, its option order. */
export type QuestionOrder = Array<{ questionId: string; optionIds?: string[] }>;

/** Saved answers by question id; their shape depends on the question type. */
export type AttemptAnswers = Record<string, unknown>;

export const QuizAttempt = defineEntity({
  name: 'QuizAttempt',
  tableName: 'quiz_attempts',
  properties: {
    id: uuidPrimaryKey(),
    // NO ACTION on both: attempts are what students earned; neither an enrollment nor a quiz
    // with attempts can be deleted (the API answers 409 first).
    enrollment: () =>
      p.manyToOne(Enrollment).ref().deleteRule('no action').foreignKeyName('quiz_attempts_enrollment_id_foreign').index('quiz_attempts_enrollment_id_index'),
    quiz: () => p.manyToOne(Quiz).ref().deleteRule('no action').foreignKeyName('quiz_attempts_quiz_id_foreign').index('quiz_attempts_quiz_id_index'),
    attemptNumber: p.integer(),
    status: enumColumn(ATTEMPT_STATUSES)
      .default('in_progress')
      .onCreate(() => 'in_progress' as const),
    startedAt: p.datetime().columnType('timestamptz'),
    /** startedAt + time limit, fixed at start; null for untimed quizzes. */
    deadline: optionalTimestamp(),
    submittedAt: optionalTimestamp(),
    gradedAt: optionalTimestamp(),
    score: p.decimal('number').precision(10).scale(2).nullable(),
    maxScore: p.decimal('number').precision(10).scale(2).nullable(),
    percentage: p.decimal('number').precision(5).scale(2).nullable(),
    isPassed: p.boolean().nullable(),
    timeTakenSeconds: p.integer().nullable(),
    answers: p.json<AttemptAnswers>().columnType('jsonb').nullable(),
    /** Question ids and per-question option ids, fixed at start. */
    questionOrder: p.json<QuestionOrder>().columnType('jsonb').nullable(),
    /** Per-question points and a snapshot of each question as graded. */
    results: p.json<Record<string, unknown>>().columnType('jsonb').nullable(),
    /** Graded by the deadline job or the sweep rather than by the student. */
    autoSubmitted: p
      .boolean()
      .default(false)
      .onCreate(() => false),
    createdAt: createdAt(),
    /** The quiz's overdue policy when the attempt started. */
    overdueHandling: enumColumn(OVERDUE_HANDLINGS)
      .default('autosubmit')
      .onCreate(() => 'autosubmit' as const),
    gracePeriodSeconds: p
      .integer()
      .default(0)
      .onCreate(() => 0),
    /** The end of the submit window: deadline + grace under `graceperiod`, the deadline otherwise; null when untimed. */
    submitUntil: optionalTimestamp(),
    /** The live-session launch this attempt belongs to; null for self-paced attempts. */
    launch: () => p.manyToOne(QuizLaunch).ref().nullable().deleteRule('no action').foreignKeyName('quiz_attempts_launch_id_foreign'),
  },
  uniques: [
    {
      // One attempt per student per launch; leads with the launch, so it also indexes the key.
      name: 'quiz_attempts_launch_id_enrollment_id_unique',
      properties: ['launch', 'enrollment'],
    },
    {
      name: 'quiz_attempts_enrollment_id_quiz_id_attempt_number_unique',
      properties: ['enrollment', 'quiz', 'attemptNumber'],
    },
    {
      // At most one running attempt per (enrollment, quiz): the last word when two starts race.
      name: 'quiz_attempts_one_in_progress_idx',
      expression: `create unique index "quiz_attempts_one_in_progress_idx" on "quiz_attempts" ("enrollment_id", "quiz_id") where ((status)::text = 'in_progress'::text)`,
    },
  ],
  indexes: [
    {
      // The periodic sweep looks up running attempts whose deadline has passed.
      name: 'quiz_attempts_deadline_in_progress_idx',
      expression: `create index "quiz_attempts_deadline_in_progress_idx" on "quiz_attempts" ("deadline") where ((status)::text = 'in_progress'::text)`,
    },
  ],
  checks: [
    { name: 'quiz_attempts_attempt_number_check', expression: '(attempt_number >= 1)' },
    { name: 'quiz_attempts_grace_period_seconds_check', expression: '(grace_period_seconds >= 0)' },
    {
      name: 'quiz_attempts_percentage_check',
      expression: '((percentage >= (0)::numeric) AND (percentage <= (100)::numeric))',
    },
  ],
});

export type IQuizAttempt = InferEntity<typeof QuizAttempt>;
