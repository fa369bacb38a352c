import { Type } from 'typebox';
import { NullableTimestamp, Timestamp, Uuid } from '../../platform/schemas.js';

export const RegradeBody = Type.Object(
  { dryRun: Type.Boolean({ description: 'true: list what would change and write nothing; false: run the regrade as a job' }) },
  { additionalProperties: false },
);

const Grade = Type.Object({ score: Type.Number(), maxScore: Type.Number(), percentage: Type.Number(), isPassed: Type.Boolean() });

export const RegradeDryRunJson = Type.Object({
  dryRun: Type.Literal(true),
  quizId: Uuid,
  keyVersion: Type.Integer(),
  passingScore: Type.Integer({ description: 'The passing score the new results are computed under (the current one)' }),
  gradedAttempts: Type.Integer({ description: 'Graded attempts looked at' }),
  changed: Type.Integer(),
  attempts: Type.Array(Type.Object({ attemptId: Uuid, enrollmentId: Uuid, studentId: Uuid, old: Grade, new: Grade }), {
    description: 'Only the attempts whose score, maximum, percentage or pass would change',
  }),
});

export const RegradeAcceptedJson = Type.Object({
  regradeId: Uuid,
  keyVersion: Type.Integer(),
  status: Type.String({ description: 'queued, running, done (a regrade of this key version ran already), failed' }),
  created: Type.Boolean({ description: 'false: the regrade of this key version existed, and this is it' }),
});

export const RegradeJson = Type.Object({
  id: Uuid,
  quizId: Uuid,
  courseId: Uuid,
  keyVersion: Type.Integer(),
  status: Type.String({ description: 'queued, running, done, failed' }),
  total: Type.Integer(),
  processed: Type.Integer(),
  changed: Type.Integer(),
  requestedBy: Type.Union([Uuid, Type.Null()]),
  startedAt: NullableTimestamp,
  finishedAt: NullableTimestamp,
  error: Type.Union([Type.String(), Type.Null()]),
  createdAt: Timestamp,
});
