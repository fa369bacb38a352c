import { Type } from 'typebox';
import { Timestamp, Uuid } from '../../platform/schemas.js';
import { MAX_DEADLINE_CHANGE_SECONDS } from '../../domain/quiz-timing.js';

export const OverrideParams = Type.Object({ id: Uuid, studentId: Uuid }, { additionalProperties: false });

/** The most extra attempts one override gives. */
export const MAX_EXTRA_ATTEMPTS = 100;

export const OverrideBody = Type.Object(
  {
    extraAttempts: Type.Integer({ minimum: 0, maximum: MAX_EXTRA_ATTEMPTS, description: 'Added to maxAttempts' }),
    extraTimeSeconds: Type.Integer({ minimum: 0, maximum: MAX_DEADLINE_CHANGE_SECONDS, description: "Added to each later attempt's deadline" }),
    applyToRunning: Type.Optional(
      Type.Boolean({ description: "Also move the running attempt's deadline by the change in extraTimeSeconds (quiz:deadline-changed)", default: false }),
    ),
  },
  { additionalProperties: false },
);

const overrideFields = {
  quizId: Uuid,
  studentId: Uuid,
  extraAttempts: Type.Integer(),
  extraTimeSeconds: Type.Integer(),
  keyRevealed: Type.Boolean({ description: 'The student has already seen the answer key of this quiz' }),
  createdAt: Timestamp,
  updatedAt: Timestamp,
};

export const OverrideJson = Type.Object({
  ...overrideFields,
  runningAttempt: Type.Optional(
    Type.Union([Type.Object({ attemptId: Uuid, deadline: Timestamp, submitUntil: Timestamp }), Type.Null()], {
      description: 'With applyToRunning: the running attempt as moved (null when none was moved)',
    }),
  ),
});

export const OverrideListJson = Type.Object({
  items: Type.Array(Type.Object({ ...overrideFields, studentName: Type.String() })),
});
