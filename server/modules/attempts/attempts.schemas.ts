import { Type } from 'typebox';
import { NullableTimestamp, Timestamp, Uuid } from '../../platform/schemas.js';
import { Nullable } from '../learning.schemas.js';
import { ANSWER_JSON_LIMITS, jsonLimited } from '../../platform/json-limits.js';
import { OverdueHandling, QuestionType } from '../quizzes/quizzes.schemas.js';
import { ATTEMPT_STATUSES } from '../../../entities/enums.js';
import { MAX_DEADLINE_CHANGE_SECONDS } from '../../domain/quiz-timing.js';
import { IDEMPOTENCY_KEY_MAX_LENGTH } from '../../platform/db/idempotency.js';

/** The attempt object (docs/api.md): questions in the attempt's order, never with their answers. */
export const AttemptJson = Type.Object({
  id: Uuid,
  quizId: Uuid,
  enrollmentId: Uuid,
  studentId: Uuid,
  attemptNumber: Type.Integer(),
  /** The live-session launch this attempt belongs to; null when self-paced. */
  launchId: Nullable(Uuid),
  status: Type.Enum(ATTEMPT_STATUSES, { description: 'abandoned: finished by its overdue policy without a grade (it counts as an attempt)' }),
  startedAt: Timestamp,
  deadline: NullableTimestamp,
  overdueHandling: OverdueHandling,
  submitUntil: Type.Union([Timestamp, Type.Null()], {
    description: 'The end of the submit window: deadline + gracePeriodSeconds under graceperiod, else the deadline',
  }),
  serverNow: Timestamp,
  questions: Type.Array(
    Type.Object({
      id: Uuid,
      questionText: Type.String(),
      questionType: QuestionType,
      points: Type.Integer(),
      options: Type.Optional(Type.Array(Type.Object({ id: Type.String(), text: Type.String() }))),
      multipleSelect: Type.Optional(Type.Boolean()),
    }),
  ),
  answers: Type.Record(Type.String(), Type.Unknown()),
  result: Type.Optional(
    Type.Object({
      score: Type.Number(),
      maxScore: Type.Number(),
      percentage: Type.Number(),
      isPassed: Type.Boolean(),
      autoSubmitted: Type.Boolean(),
      submittedAt: NullableTimestamp,
      gradedAt: NullableTimestamp,
      timeTakenSeconds: Nullable(Type.Integer()),
      questions: Type.Array(
        Type.Object({
          questionId: Uuid,
          points: Type.Number(),
          maxPoints: Type.Number(),
          correct: Type.Boolean(),
          correctAnswer: Type.Optional(Type.Unknown({ description: 'Only when the quiz shows correct answers' })),
          explanation: Type.Optional(Nullable(Type.String())),
        }),
      ),
    }),
  ),
});

export const AnswerParams = Type.Object({ id: Uuid, questionId: Uuid }, { additionalProperties: false });

/**
 * One answer, as the client sends it. Its shape is checked against the question type in the
 * service (Fastify's coercion would turn "true" into true); only its depth and size are checked here.
 */
export const AnswerValue = Type.Unknown(jsonLimited(ANSWER_JSON_LIMITS, 'multiple_choice: option ids; true_false: boolean; short_answer: string'));

export const AnswerBody = Type.Object(
  {
    answer: AnswerValue,
  },
  { additionalProperties: false },
);

export const SavedAnswerJson = Type.Object({
  attemptId: Uuid,
  questionId: Uuid,
  answer: Type.Unknown(),
  savedAt: Timestamp,
  deadline: NullableTimestamp,
  serverNow: Timestamp,
});

export const SubmitBody = Type.Object(
  { answers: Type.Optional(Type.Record(Type.String(), AnswerValue, { description: 'questionId → answer; saved answers are kept for the others' })) },
  { additionalProperties: false },
);

export const ExtendBody = Type.Object(
  {
    seconds: Type.Integer({
      minimum: -MAX_DEADLINE_CHANGE_SECONDS,
      maximum: MAX_DEADLINE_CHANGE_SECONDS,
      not: Type.Literal(0),
      description: 'How far to move the deadline (negative: earlier); not zero',
    }),
  },
  { additionalProperties: false },
);

/** The `Idempotency-Key` header: a retry with the same key replays the first reply. */
export const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: IDEMPOTENCY_KEY_MAX_LENGTH, pattern: '^[\\x21-\\x7e]+$' })),
});

export const ExtendedAttemptJson = Type.Object({
  attemptId: Uuid,
  deadline: Timestamp,
  submitUntil: Timestamp,
  serverNow: Timestamp,
});
