import { Type } from 'typebox';
import { OVERDUE_HANDLINGS, QUESTION_TYPES, QUIZ_TYPES } from '../../../entities/enums.js';
import { MAX_GRACE_PERIOD_SECONDS } from '../../domain/quiz-timing.js';
import { NullableTimestamp, PaginationQuery, Timestamp, Uuid } from '../../platform/schemas.js';
import { Metadata, Nullable } from '../learning.schemas.js';
import { FREE_JSON_LIMITS, jsonLimited } from '../../platform/json-limits.js';

export const QuizType = Type.Enum(QUIZ_TYPES);
export const QuestionType = Type.Enum(QUESTION_TYPES);
export const OverdueHandling = Type.Enum(OVERDUE_HANDLINGS, {
  description:
    'What happens to an attempt left running past its deadline: autosubmit grades its saved answers; graceperiod takes a submit for gracePeriodSeconds more, then abandons it; autoabandon abandons it',
});

const settings = {
  title: Type.String({ minLength: 1, maxLength: 500 }),
  description: Nullable(Type.String({ maxLength: 20000 })),
  quizType: QuizType,
  passingScore: Type.Integer({ minimum: 0, maximum: 100 }),
  timeLimitMinutes: Nullable(Type.Integer({ minimum: 1, maximum: 10080 })),
  timeLimitSeconds: Nullable(Type.Integer({ minimum: 1, maximum: 604800, description: 'Wins over timeLimitMinutes when set' })),
  maxAttempts: Nullable(Type.Integer({ minimum: 1, maximum: 1000, description: 'null = unlimited' })),
  shuffleQuestions: Type.Boolean(),
  shuffleOptions: Type.Boolean(),
  showCorrectAnswers: Type.Boolean(),
  isPublished: Type.Boolean(),
  metadata: Metadata,
  overdueHandling: OverdueHandling,
  gracePeriodSeconds: Type.Integer({ minimum: 0, maximum: MAX_GRACE_PERIOD_SECONDS, description: 'Required (> 0) with graceperiod' }),
};

export const CreateQuizBody = Type.Object({ ...Type.Partial(Type.Object(settings)).properties, title: settings.title }, { additionalProperties: false });
export const UpdateQuizBody = Type.Partial(Type.Object(settings), { additionalProperties: false, minProperties: 1 });

const OptionInput = Type.Object(
  { id: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })), text: Type.String({ minLength: 1, maxLength: 2000 }), isCorrect: Type.Boolean() },
  { additionalProperties: false },
);

const questionFields = {
  questionText: Type.String({ minLength: 1, maxLength: 20000 }),
  questionType: QuestionType,
  points: Type.Integer({ minimum: 0, maximum: 1000 }),
  orderIndex: Type.Integer({ minimum: 0, maximum: 100000 }),
  options: Nullable(Type.Array(OptionInput, { maxItems: 50 })),
  // Checked per question type in the service (Fastify's coercion must not touch it).
  correctAnswer: Type.Unknown(jsonLimited(FREE_JSON_LIMITS, 'true_false: boolean; short_answer: {accepted: string[], caseSensitive?: boolean}')),
  explanation: Nullable(Type.String({ maxLength: 20000 })),
};

export const CreateQuestionBody = Type.Object(
  {
    ...Type.Partial(Type.Object(questionFields)).properties,
    questionText: questionFields.questionText,
    questionType: questionFields.questionType,
  },
  { additionalProperties: false },
);
export const UpdateQuestionBody = Type.Partial(Type.Object(questionFields), { additionalProperties: false, minProperties: 1 });

export const QuestionJson = Type.Object({
  id: Uuid,
  quizId: Uuid,
  questionText: Type.String(),
  questionType: QuestionType,
  points: Type.Integer(),
  orderIndex: Type.Integer(),
  options: Nullable(Type.Array(Type.Object({ id: Type.String(), text: Type.String(), isCorrect: Type.Boolean() }))),
  correctAnswer: Type.Unknown(),
  explanation: Nullable(Type.String()),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});

export const QuizJson = Type.Object({
  id: Uuid,
  lessonId: Uuid,
  title: Type.String(),
  description: Nullable(Type.String()),
  quizType: QuizType,
  passingScore: Type.Integer(),
  timeLimitMinutes: Nullable(Type.Integer()),
  timeLimitSeconds: Nullable(Type.Integer()),
  maxAttempts: Nullable(Type.Integer()),
  shuffleQuestions: Type.Boolean(),
  shuffleOptions: Type.Boolean(),
  showCorrectAnswers: Type.Boolean(),
  isPublished: Type.Boolean(),
  metadata: Metadata,
  overdueHandling: OverdueHandling,
  gracePeriodSeconds: Type.Integer(),
  questionCount: Type.Integer(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  questions: Type.Optional(Type.Array(QuestionJson, { description: 'Owners and admins only' })),
});

export const AttemptSummaryJson = Type.Object({
  id: Uuid,
  quizId: Uuid,
  enrollmentId: Uuid,
  studentId: Uuid,
  studentName: Type.String(),
  attemptNumber: Type.Integer(),
  status: Type.String(),
  startedAt: Timestamp,
  deadline: NullableTimestamp,
  submittedAt: NullableTimestamp,
  gradedAt: NullableTimestamp,
  score: Nullable(Type.Number()),
  maxScore: Nullable(Type.Number()),
  percentage: Nullable(Type.Number()),
  isPassed: Nullable(Type.Boolean()),
  autoSubmitted: Type.Boolean(),
});

export const QuizStatsJson = Type.Object({
  quizId: Uuid,
  title: Type.String(),
  gradedAttempts: Type.Integer(),
  averagePercentage: Type.Number(),
  passRate: Type.Number({ description: 'Share of graded attempts that passed, 0–1' }),
  questions: Type.Array(
    Type.Object({
      questionId: Uuid,
      questionText: Type.String(),
      questionType: QuestionType,
      answers: Type.Integer(),
      unanswered: Type.Integer(),
      correct: Type.Integer(),
      shareCorrect: Type.Number({ description: '0–1' }),
      distribution: Type.Record(Type.String(), Type.Integer(), { description: 'Option id, true/false or normalised text → count' }),
    }),
  ),
});

export const AttemptListQuery = Type.Object({ ...PaginationQuery }, { additionalProperties: false });
