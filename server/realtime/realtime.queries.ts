import type { EntityManager } from '@mikro-orm/postgresql';
import type { EnrollmentStatus, UserRole } from '../../entities/enums.js';
import { emptyDistribution } from '../domain/answer-distribution.js';
import type { AttemptOpen } from '../modules/deps.js';
import type { IUser } from '../../entities/index.js';
import type { RowOf } from '../platform/db/rows.js';
import { ACCESS_GRANTING_STATUSES } from '../modules/courses/courses.access.js';

// The realtime layer's reads (the data-access rule: raw SQL lives in `*.queries.ts` modules).

/** A user's running timed attempts, `student` being a column or a parameter. */
const openTimedAttemptsOf = (student: string) =>
  `FROM quiz_attempts a JOIN enrollments e ON e.id = a.enrollment_id
    WHERE e.student_id = ${student} AND a.status = 'in_progress' AND a.deadline IS NOT NULL`;

interface OpenAttemptRow {
  id: string;
  /** A Date from a column, an ISO text from JSON. */
  deadline: Date | string;
  launch_id: string | null;
}

const attemptOpen = (studentId: string) => (row: OpenAttemptRow) => ({
  attemptId: row.id,
  studentId,
  deadline: new Date(row.deadline).toISOString(),
  ...(row.launch_id ? { launchId: row.launch_id } : {}),
});

/** The student's running timed attempts: they tick on the instance it just connected to. */
export async function openTimedAttempts(em: EntityManager, studentId: string): Promise<AttemptOpen[]> {
  const rows = await em.execute<OpenAttemptRow[]>(`SELECT a.id, a.deadline, a.launch_id ${openTimedAttemptsOf('?')}`, [studentId]);
  return rows.map(attemptOpen(studentId));
}

/** The account's standing, as `standingOf` reads it. */
type StandingRow = Pick<RowOf<IUser>, 'is_active' | 'role'>;

export type ConnectionStanding = StandingRow & {
  /** The user's running timed attempts, as `openTimedAttempts` reads them. */
  openAttempts: AttemptOpen[];
  /**
   * A student's courses whose room it may join (published, enrollment granting access), at most
   * `JOIN_GRANT_LIMIT`; empty for other roles, whose joins always read (join-grants.ts).
   */
  joinCourseIds: string[];
};

/** How many of a student's courses the handshake reads for its joins; a join to another one reads. */
export const JOIN_GRANT_LIMIT = 100;

/**
 * What a Socket.IO handshake checks and starts from, in one statement: the account's standing
 * (as `standingOf` reads it for every request), its running timed attempts, which tick on the
 * instance the user connects to, and a student's courses for its first joins (join-grants.ts):
 * in a join storm, the one round trip of a connection.
 */
export async function connectionStanding(em: EntityManager, userId: string): Promise<ConnectionStanding | null> {
  const [row] = await em.execute<Array<StandingRow & { open_attempts: OpenAttemptRow[]; join_course_ids: string[] }>>(
    `SELECT u.is_active, u.role,
            (SELECT coalesce(json_agg(json_build_object('id', a.id, 'deadline', a.deadline, 'launch_id', a.launch_id)), '[]'::json)
               ${openTimedAttemptsOf('u.id')}) AS open_attempts,
            CASE WHEN u.role = 'student' THEN ARRAY(
              SELECT e.course_id FROM enrollments e JOIN courses c ON c.id = e.course_id AND c.is_published
               WHERE e.student_id = u.id AND e.status = ANY(?::text[]) LIMIT ?
            ) ELSE '{}' END AS join_course_ids
       FROM users u WHERE u.id = ?`,
    [[...ACCESS_GRANTING_STATUSES], JOIN_GRANT_LIMIT, userId],
  );
  return row
    ? { is_active: row.is_active, role: row.role, openAttempts: row.open_attempts.map(attemptOpen(userId)), joinCourseIds: row.join_course_ids }
    : null;
}

/**
 * How the saved answers to one question are spread, over the quiz's running and graded
 * attempts, in one statement: option id → count (multiple choice, every chosen option counts),
 * `true`/`false` → count, normalised text (trimmed, white space collapsed, lower case, as
 * `GET /quizzes/:id/stats` does) → count. Options and true/false start at 0 so the chart has
 * every bar. Null when the question is not in that quiz.
 */
export async function answerDistribution(
  em: EntityManager,
  quizId: string,
  questionId: string,
  launchId: string | null = null,
): Promise<Record<string, number> | null> {
  const [row] = await em.execute<Array<{ question_type: string | null; options: Array<{ id: string }> | null; counts: Record<string, number> | null }>>(
    `WITH question AS (
       SELECT question_type, options FROM quiz_questions WHERE id = ? AND quiz_id = ?
     ),
     answer AS (
       SELECT a.answers -> ?::text AS value
         FROM quiz_attempts a
        WHERE a.quiz_id = ? AND a.status IN ('in_progress', 'graded') AND a.answers -> ?::text IS NOT NULL
          AND (?::uuid IS NULL OR a.launch_id = ?::uuid)
     ),
     choice AS (
       SELECT option_id AS key FROM answer, jsonb_array_elements_text(answer.value) AS option_id
        WHERE jsonb_typeof(answer.value) = 'array'
       UNION ALL
       SELECT lower(btrim(regexp_replace(answer.value #>> '{}', '\\s+', ' ', 'g'))) FROM answer WHERE jsonb_typeof(answer.value) = 'string'
       UNION ALL
       SELECT answer.value::text FROM answer WHERE jsonb_typeof(answer.value) = 'boolean'
     )
     SELECT (SELECT question_type FROM question) AS question_type,
            (SELECT options FROM question) AS options,
            (SELECT jsonb_object_agg(key, n) FROM (SELECT key, count(*)::int AS n FROM choice GROUP BY key) counted) AS counts`,
    [questionId, quizId, questionId, quizId, questionId, launchId, launchId],
  );
  if (!row?.question_type) return null;
  // Keys are students' text: merged through a Map, since assigning `__proto__` to an object drops it.
  const counts = emptyDistribution({ questionType: row.question_type, options: row.options });
  for (const [key, n] of Object.entries(row.counts ?? {})) counts.set(key, n);
  return Object.fromEntries(counts);
}

/** `attemptStatus` of many attempts in one read, by id (missing ones left out). */
export async function attemptStatuses(em: EntityManager, attemptIds: string[]): Promise<Map<string, { status: string; submitUntil: string | null }>> {
  if (attemptIds.length === 0) return new Map();
  const rows = await em.execute<Array<{ id: string; status: string; submit_until: string | Date | null }>>(
    'SELECT id, status, submit_until FROM quiz_attempts WHERE id IN (SELECT value::uuid FROM jsonb_array_elements_text(?::jsonb))',
    [JSON.stringify(attemptIds)],
  );
  return new Map(rows.map((row) => [row.id, { status: row.status, submitUntil: row.submit_until === null ? null : new Date(row.submit_until).toISOString() }]));
}

/** The quiz, course and launch of an attempt (null when it does not exist). */
export async function attemptQuizAndCourse(
  em: EntityManager,
  attemptId: string,
): Promise<{ quizId: string; courseId: string; launchId: string | null } | null> {
  const [row] = await em.execute<Array<{ quiz_id: string; course_id: string; launch_id: string | null }>>(
    'SELECT a.quiz_id, l.course_id, a.launch_id FROM quiz_attempts a JOIN quizzes q ON q.id = a.quiz_id JOIN lessons l ON l.id = q.lesson_id WHERE a.id = ?',
    [attemptId],
  );
  return row ? { quizId: row.quiz_id, courseId: row.course_id, launchId: row.launch_id } : null;
}

/** What deciding a user's course rooms needs, in one read: the user, the course, the enrollment. */
export interface CourseRoomAccessRow {
  is_active: boolean;
  role: UserRole;
  course_id: string | null;
  instructor_id: string | null;
  is_published: boolean | null;
  enrollment_status: EnrollmentStatus | null;
}

export async function courseRoomAccess(em: EntityManager, userId: string, courseId: string): Promise<CourseRoomAccessRow | null> {
  const [row] = await em.execute<CourseRoomAccessRow[]>(
    `SELECT u.is_active, u.role, c.id AS course_id, c.instructor_id, c.is_published, e.status AS enrollment_status
       FROM users u
       LEFT JOIN courses c ON c.id = ?
       LEFT JOIN enrollments e ON e.course_id = c.id AND e.student_id = u.id
      WHERE u.id = ?`,
    [courseId, userId],
  );
  return row ?? null;
}
