import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { createdAt, optionalTimestamp, uuidPrimaryKey } from './columns.js';
import { LiveSession } from './live-session.entity.js';
import { Quiz } from './quiz.entity.js';
import { User } from './user.entity.js';

/** Per-student deadline moves of a launch, in seconds, keyed by user id (never by user text). */
export type StudentOffsets = Record<string, number>;

/** One shared window of a quiz in a live session (at most one open per session). */
export const QuizLaunch = defineEntity({
  name: 'QuizLaunch',
  tableName: 'quiz_launches',
  properties: {
    id: uuidPrimaryKey(),
    session: () =>
      p.manyToOne(LiveSession).ref().deleteRule('cascade').foreignKeyName('quiz_launches_session_id_foreign').index('quiz_launches_session_id_index'),
    quiz: () => p.manyToOne(Quiz).ref().deleteRule('cascade').foreignKeyName('quiz_launches_quiz_id_foreign').index('quiz_launches_quiz_id_index'),
    launchedBy: () =>
      p
        .manyToOne(User)
        .ref()
        .nullable()
        .fieldName('launched_by')
        .deleteRule('set null')
        .foreignKeyName('quiz_launches_launched_by_foreign')
        .index('quiz_launches_launched_by_index'),
    opensAt: createdAt(),
    closesAt: p.datetime().columnType('timestamptz'),
    closedAt: optionalTimestamp(),
    studentOffsets: p
      .json<StudentOffsets>()
      .columnType('jsonb')
      .defaultRaw(`'{}'`)
      .onCreate(() => ({})),
    /** Item statistics of the launch's attempts, written once the last one is finished. */
    summary: p.json<Record<string, unknown>>().columnType('jsonb').nullable(),
    summarizedAt: optionalTimestamp(),
    createdAt: createdAt(),
  },
  uniques: [
    {
      name: 'quiz_launches_one_open_per_session_idx',
      expression: `create unique index "quiz_launches_one_open_per_session_idx" on "quiz_launches" ("session_id") where (closed_at IS NULL)`,
    },
  ],
  checks: [{ name: 'quiz_launches_window_check', expression: '(closes_at > opens_at)' }],
});

export type IQuizLaunch = InferEntity<typeof QuizLaunch>;
