import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { createdAt, enumColumn, metadataJson, updatedAt, uuidPrimaryKey } from './columns.js';
import { OVERDUE_HANDLINGS, QUIZ_TYPES } from './enums.js';
import { Lesson } from './lesson.entity.js';

/** Only lends its type to `maxAttempts` below. */
// eslint-disable-next-line @typescript-eslint/no-unused-vars -- a value only for `typeof` (a generic call's type cannot be named otherwise)
const nullableInteger = () => p.integer().nullable();

export const Quiz = defineEntity({
  name: 'Quiz',
  tableName: 'quizzes',
  properties: {
    id: uuidPrimaryKey(),
    // One quiz per lesson (unique). Nullable as in the seed. CASCADE: the quiz goes with its
    // lesson; a lesson whose quiz has attempts cannot be deleted (quiz_attempts.quiz_id).
    lesson: () => p.oneToOne(Lesson).ref().nullable().deleteRule('cascade').foreignKeyName('quizzes_lesson_id_foreign').unique('quizzes_lesson_id_unique'),
    title: p.string().length(500),
    description: p.text().nullable(),
    quizType: enumColumn(QUIZ_TYPES)
      .default('practice')
      .onCreate(() => 'practice' as const),
    passingScore: p
      .integer()
      .default(70)
      .onCreate(() => 70),
    timeLimitMinutes: p.integer().nullable(),
    /** Short timers for live classes; wins over `timeLimitMinutes` when set. */
    timeLimitSeconds: p.integer().nullable(),
    // The one deliberate exception to "a column with a default is NOT NULL": null means
    // unlimited attempts, while new quizzes still default to 3. The cast only fixes the
    // inferred type: MikroORM 6.6 types a property with a default as `Opt<Value>`, and
    // `Opt<number | null>` collapses to `number`, which would hide the null.
    maxAttempts: p
      .integer()
      .nullable()
      .default(3)
      // onCreate also runs for an explicit null; keep that null (unlimited) rather than 3.
      .onCreate((quiz: { maxAttempts?: number | null }) => (quiz.maxAttempts === undefined ? 3 : (quiz.maxAttempts as number))) as unknown as ReturnType<
      typeof nullableInteger
    >,
    shuffleQuestions: p
      .boolean()
      .default(false)
      .onCreate(() => false),
    shuffleOptions: p
      .boolean()
      .default(false)
      .onCreate(() => false),
    showCorrectAnswers: p
      .boolean()
      .default(false)
      .onCreate(() => false),
    isPublished: p
      .boolean()
      .default(false)
      .onCreate(() => false),
    metadata: metadataJson(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    /** What the server does with an attempt left running past its deadline; copied onto each attempt at start. */
    overdueHandling: enumColumn(OVERDUE_HANDLINGS)
      .default('autosubmit')
      .onCreate(() => 'autosubmit' as const),
    /** Under `graceperiod`: how long after the deadline a submit is still taken. */
    gracePeriodSeconds: p
      .integer()
      .default(0)
      .onCreate(() => 0),
  },
  checks: [
    { name: 'quizzes_passing_score_check', expression: '((passing_score >= 0) AND (passing_score <= 100))' },
    { name: 'quizzes_time_limit_minutes_check', expression: '(time_limit_minutes > 0)' },
    { name: 'quizzes_time_limit_seconds_check', expression: '(time_limit_seconds > 0)' },
    { name: 'quizzes_max_attempts_check', expression: '(max_attempts >= 1)' },
    { name: 'quizzes_grace_period_seconds_check', expression: '(grace_period_seconds >= 0)' },
  ],
});

export type IQuiz = InferEntity<typeof Quiz>;
