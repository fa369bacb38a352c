import type { IQuiz, IQuizAttempt, IQuizLaunch } from '../../../entities/index.js';
import type { SqlRunner } from '../../platform/db/sql.js';
import type { RowOf } from '../../platform/db/rows.js';
import type { LaunchAttemptResult, LaunchSummary } from '../../domain/launch-summary.js';
import type { QuestionOrder } from '../../domain/shuffle.js';
import type { LaunchCounts } from './launches.schemas.js';

// The launches' SQL (docs/data-access.md): creating a launch's attempts is one set-based
// statement, and closing and summarising are conditional writes whose statement is the guarantee.

/** A launch row with its session's course and status and the course's owner. */
export type LaunchRow = Omit<RowOf<IQuizLaunch>, 'summary' | 'launched_by_id'> & {
  launched_by: string | null;
  summary: LaunchSummary | null;
  course_id: string;
  instructor_id: string;
  session_status: string;
};

const LAUNCH_SELECT = `SELECT l.*, ls.course_id, ls.status AS session_status, c.instructor_id
    FROM quiz_launches l JOIN live_sessions ls ON ls.id = l.session_id JOIN courses c ON c.id = ls.course_id`;

export async function launchRow(db: SqlRunner, launchId: string): Promise<LaunchRow | null> {
  const [row] = await db.execute<LaunchRow[]>(`${LAUNCH_SELECT} WHERE l.id = ?`, [launchId]);
  return row ?? null;
}

/** A session and, when it is a quiz of the session's course, the quiz's launch settings. */
export interface LaunchTargetRow {
  session_id: string;
  course_id: string;
  instructor_id: string;
  session_status: string;
  quiz_id: string | null;
  time_limit_seconds: RowOf<IQuiz>['time_limit_seconds'];
  time_limit_minutes: RowOf<IQuiz>['time_limit_minutes'];
  shuffle_questions: boolean | null;
  shuffle_options: boolean | null;
}

export async function launchTarget(db: SqlRunner, sessionId: string, quizId: string): Promise<LaunchTargetRow | null> {
  const [row] = await db.execute<LaunchTargetRow[]>(
    `SELECT ls.id AS session_id, ls.course_id, ls.status AS session_status, c.instructor_id,
            q.id AS quiz_id, q.time_limit_seconds, q.time_limit_minutes, q.shuffle_questions, q.shuffle_options
       FROM live_sessions ls JOIN courses c ON c.id = ls.course_id
       LEFT JOIN quizzes q ON q.id = ? AND EXISTS (SELECT 1 FROM lessons le WHERE le.id = q.lesson_id AND le.course_id = ls.course_id)
      WHERE ls.id = ?`,
    [quizId, sessionId],
  );
  return row ?? null;
}

/**
 * Whether a regrade of the quiz is queued or running, read under a share lock on the quiz row:
 * a regrade request holds that row's update lock while it checks for open launches, so the two
 * cannot both pass their checks.
 */
export async function quizRegrading(tx: SqlRunner, quizId: string): Promise<boolean> {
  const [row] = await tx.execute<Array<{ regrading: boolean }>>(
    `SELECT EXISTS (SELECT 1 FROM quiz_regrades r WHERE r.quiz_id = q.id AND r.status IN ('queued', 'running')) AS regrading
       FROM quizzes q WHERE q.id = ? FOR SHARE OF q`,
    [quizId],
  );
  return row?.regrading ?? false;
}

/** Opens the launch's window on the database clock; a unique violation when one is open in the session. */
export async function insertLaunch(
  tx: SqlRunner,
  launch: { sessionId: string; quizId: string; launchedBy: string; durationSeconds: number },
): Promise<Pick<LaunchRow, 'id' | 'opens_at' | 'closes_at'>> {
  const [row] = await tx.execute<Array<Pick<LaunchRow, 'id' | 'opens_at' | 'closes_at'>>>(
    `INSERT INTO quiz_launches (session_id, quiz_id, launched_by, opens_at, closes_at, student_offsets)
     VALUES (?, ?, ?, now(), now() + make_interval(secs => ?), '{}') RETURNING id, opens_at, closes_at`,
    [launch.sessionId, launch.quizId, launch.launchedBy, launch.durationSeconds],
  );
  return row;
}

/** What creating a launch's attempts did for one student. */
export type LaunchAttemptOutcome =
  /** With what the attempt's JSON needs besides its questions (the attempts service's `launchedAttemptsJson`). */
  | {
      kind: 'started';
      reason: null;
      student_id: string;
      attempt_id: string;
      deadline: string;
      enrollment_id: string;
      attempt_number: number;
      started_at: string;
      submit_until: string | null;
      overdue_handling: RowOf<IQuizAttempt>['overdue_handling'];
    }
  | { kind: 'skipped'; student_id: string; attempt_id: null; deadline: null; reason: 'MAX_ATTEMPTS_REACHED' | 'ATTEMPT_IN_PROGRESS' }
  /** Eligible, but a concurrent start (or join) took the slot first. */
  | { kind: 'raced'; student_id: string; attempt_id: null; deadline: null; reason: null };

/** The attempts' question orders: one for every student (nothing shuffled), or each student's own. */
export type LaunchOrders = { shared: QuestionOrder } | { byStudent: Record<string, QuestionOrder> };

/**
 * Creates the launch's attempts of `studentIds` who are students of the course (active or
 * completed) without an attempt in this launch, in ONE statement: each gets the next attempt
 * number, its question order from `orders` (one for all, or per student id), the deadline `closes_at` + its
 * extra time (`quiz_overrides`) + its offset, by the database clock, and the quiz's overdue
 * policy with its submit window. Skipped with a reason, from the same statement: a running
 * attempt of the quiz (`ATTEMPT_IN_PROGRESS`), or no attempt left (`MAX_ATTEMPTS_REACHED`, extra
 * attempts counted; an abandoned launched attempt without answers does not count). The unique indexes stay the last
 * word against a concurrent start: a row they refuse comes back `raced`.
 */
export async function insertLaunchAttempts(tx: SqlRunner, launchId: string, studentIds: string[], orders: LaunchOrders): Promise<LaunchAttemptOutcome[]> {
  if (studentIds.length === 0) return [];
  return tx.execute<LaunchAttemptOutcome[]>(
    `WITH launch AS (
       SELECT l.id, l.quiz_id, l.closes_at, l.student_offsets, ls.course_id, q.max_attempts, q.overdue_handling, q.grace_period_seconds
         FROM quiz_launches l JOIN live_sessions ls ON ls.id = l.session_id JOIN quizzes q ON q.id = l.quiz_id
        WHERE l.id = ?
     ),
     decided AS (
       SELECT e.id AS enrollment_id, e.student_id, stats.last,
              launch.closes_at + make_interval(secs => coalesce(o.extra_time_seconds, 0)
                                                       + coalesce((launch.student_offsets ->> e.student_id::text)::int, 0)) AS deadline,
              CASE WHEN stats.running THEN 'ATTEMPT_IN_PROGRESS'
                   WHEN launch.max_attempts IS NOT NULL AND stats.counted >= launch.max_attempts + coalesce(o.extra_attempts, 0) THEN 'MAX_ATTEMPTS_REACHED'
              END AS reason
         FROM launch
         -- The ids are one array, never rows to join (see insertLiveSession).
         JOIN enrollments e ON e.course_id = launch.course_id AND e.status IN ('active', 'completed') AND e.student_id = ANY(?::uuid[])
         LEFT JOIN quiz_overrides o ON o.quiz_id = launch.quiz_id AND o.student_id = e.student_id
         CROSS JOIN LATERAL (
           SELECT (count(*) FILTER (WHERE NOT (a.launch_id IS NOT NULL AND a.status = 'abandoned'
                                               AND coalesce(a.answers, '{}'::jsonb) = '{}'::jsonb)))::int AS counted,
                  coalesce(max(a.attempt_number), 0)::int AS last,
                  coalesce(bool_or(a.status = 'in_progress'), false) AS running,
                  coalesce(bool_or(a.launch_id = launch.id), false) AS in_launch
             -- Looked up by the student's enrollment. \`IS NOT DISTINCT FROM\` (quiz_id is never null, so it
             -- means =) keeps PostgreSQL off the quiz's index: without statistics it chose that one, which
             -- this statement fills as it goes, and walked it once per student (quadratic at 10,000).
             FROM quiz_attempts a WHERE a.enrollment_id = e.id AND a.quiz_id IS NOT DISTINCT FROM launch.quiz_id
         ) stats
        WHERE NOT stats.in_launch
     ),
     inserted AS (
       INSERT INTO quiz_attempts (enrollment_id, quiz_id, launch_id, attempt_number, status, started_at, deadline, submit_until,
                                  overdue_handling, grace_period_seconds, question_order, answers)
       SELECT d.enrollment_id, launch.quiz_id, launch.id, d.last + 1, 'in_progress', now(), d.deadline,
              d.deadline + make_interval(secs => CASE WHEN launch.overdue_handling = 'graceperiod' THEN launch.grace_period_seconds ELSE 0 END),
              launch.overdue_handling, launch.grace_period_seconds, coalesce(?::jsonb, ?::jsonb -> d.student_id::text), '{}'::jsonb
         FROM decided d CROSS JOIN launch
        WHERE d.reason IS NULL
       ON CONFLICT DO NOTHING
       RETURNING id, enrollment_id, deadline, attempt_number, started_at, submit_until, overdue_handling
     )
     -- No join of the two CTEs: PostgreSQL has no statistics for them and, estimating one row each,
     -- joined them in a nested loop (10,000 × 10,000 comparisons for a lecture). The student of an
     -- inserted attempt comes from its enrollment (an index lookup), the raced from a hashed NOT IN.
     SELECT 'started' AS kind, e.student_id, i.id AS attempt_id, i.deadline, NULL AS reason,
            i.enrollment_id, i.attempt_number, i.started_at, i.submit_until, i.overdue_handling
       FROM inserted i JOIN enrollments e ON e.id = i.enrollment_id
     UNION ALL
     SELECT 'skipped', d.student_id, NULL, NULL, d.reason, NULL, NULL, NULL, NULL, NULL FROM decided d WHERE d.reason IS NOT NULL
     UNION ALL
     SELECT 'raced', d.student_id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL FROM decided d
      WHERE d.reason IS NULL AND d.enrollment_id NOT IN (SELECT enrollment_id FROM inserted)`,
    [launchId, studentIds, 'shared' in orders ? JSON.stringify(orders.shared) : null, 'byStudent' in orders ? JSON.stringify(orders.byStudent) : null],
  );
}

/** The quiz's questions in its order, with their options (for each student's own order). */
export async function launchQuestions(db: SqlRunner, quizId: string): Promise<Array<{ id: string; options: Array<{ id: string }> | null }>> {
  return db.execute<Array<{ id: string; options: Array<{ id: string }> | null }>>(
    'SELECT id, options FROM quiz_questions WHERE quiz_id = ? ORDER BY order_index, created_at, id',
    [quizId],
  );
}

/** The open launch of a quiz in a live session of its course, as one student would join it. */
export interface JoinableLaunchRow {
  launch_id: string;
  course_id: string;
  closes_at: string;
  shuffle_questions: boolean;
  shuffle_options: boolean;
  /** The student's own deadline (shared close + extra time + offset) minus now, by the database clock. */
  remaining_ms: number;
  /** The student's attempt in this launch, if any. */
  attempt_id: string | null;
  attempt_status: string | null;
}

export async function joinableLaunch(db: SqlRunner, quizId: string, studentId: string): Promise<JoinableLaunchRow | null> {
  const [row] = await db.execute<JoinableLaunchRow[]>(
    `SELECT l.id AS launch_id, ls.course_id, l.closes_at, q.shuffle_questions, q.shuffle_options,
            (extract(epoch FROM (l.closes_at + make_interval(secs => coalesce((l.student_offsets ->> ?::text)::int, 0) + coalesce(o.extra_time_seconds, 0))
                                 - now())) * 1000)::float8 AS remaining_ms,
            a.id AS attempt_id, a.status AS attempt_status
       FROM quiz_launches l
       JOIN live_sessions ls ON ls.id = l.session_id AND ls.status = 'live'
       JOIN quizzes q ON q.id = l.quiz_id
       JOIN enrollments e ON e.course_id = ls.course_id AND e.student_id = ? AND e.status IN ('active', 'completed')
       LEFT JOIN quiz_attempts a ON a.launch_id = l.id AND a.enrollment_id = e.id
       LEFT JOIN quiz_overrides o ON o.quiz_id = l.quiz_id AND o.student_id = e.student_id
      WHERE l.quiz_id = ? AND l.closed_at IS NULL
      ORDER BY l.opens_at DESC LIMIT 1`,
    [studentId, studentId, quizId],
  );
  return row ?? null;
}

/** The open launch of a session (for ending the session). */
export async function openLaunchOfSession(db: SqlRunner, sessionId: string): Promise<string | null> {
  const [row] = await db.execute<Array<{ id: string }>>('SELECT id FROM quiz_launches WHERE session_id = ? AND closed_at IS NULL', [sessionId]);
  return row?.id ?? null;
}

/** A launched attempt whose deadline moved (close, extend), as `quiz:deadline-changed` reports it. */
export interface MovedAttemptRow {
  id: string;
  quiz_id: string;
  student_id: string;
  course_id: string;
  deadline: string;
  submit_until: string;
}

const MOVED_RETURNING = `RETURNING a.id, a.quiz_id, e.student_id, e.course_id, a.deadline, a.submit_until`;
/** The submit window of an attempt whose deadline is `deadline`: the grace period's under `graceperiod`. */
const SUBMIT_UNTIL = (deadline: string) =>
  `${deadline} + make_interval(secs => CASE WHEN a.overdue_handling = 'graceperiod' THEN a.grace_period_seconds ELSE 0 END)`;

/**
 * Ends the launch's window now (database clock): `closes_at` and every running attempt's
 * deadline (with its submit window) become now, never later than they were. Returns the new
 * close (null when the window had already ended) and the attempts whose deadline moved.
 */
export async function closeLaunchWindow(tx: SqlRunner, launchId: string): Promise<{ closes_at: string | null; moved: MovedAttemptRow[] }> {
  const [closed] = await tx.execute<Array<{ closes_at: string }>>(
    `UPDATE quiz_launches SET closes_at = greatest(now(), opens_at + interval '1 millisecond')
      WHERE id = ? AND closed_at IS NULL AND closes_at > now()
      RETURNING closes_at`,
    [launchId],
  );
  const moved = await tx.execute<MovedAttemptRow[]>(
    `UPDATE quiz_attempts a SET deadline = now(), submit_until = ${SUBMIT_UNTIL('now()')}
       FROM enrollments e
      WHERE a.launch_id = ? AND a.status = 'in_progress' AND a.deadline > now() AND e.id = a.enrollment_id
      ${MOVED_RETURNING}`,
    [launchId],
  );
  return { closes_at: closed?.closes_at ?? null, moved };
}

/**
 * Moves the launch's shared close by `seconds`, and with it every running attempt of the launch
 * whose deadline is at or after the old close. Nothing moves, and null comes back, when the window
 * has already ended (a close is never undone), the launch is closed, or the new close would not be
 * in the future.
 */
export async function shiftLaunchClose(tx: SqlRunner, launchId: string, seconds: number): Promise<{ closes_at: string; moved: MovedAttemptRow[] } | null> {
  const [launch] = await tx.execute<Array<{ closes_at: string; old_closes_at: string }>>(
    `UPDATE quiz_launches l SET closes_at = l.closes_at + make_interval(secs => ?)
       FROM (SELECT id, closes_at AS old_closes_at FROM quiz_launches WHERE id = ? FOR UPDATE) old
      WHERE l.id = old.id AND l.closed_at IS NULL AND l.closes_at > now() AND l.closes_at + make_interval(secs => ?) > greatest(now(), l.opens_at)
      RETURNING l.closes_at, old.old_closes_at`,
    [seconds, launchId, seconds],
  );
  if (!launch) return null;
  const moved = await tx.execute<MovedAttemptRow[]>(
    `UPDATE quiz_attempts a SET deadline = a.deadline + make_interval(secs => ?),
            submit_until = ${SUBMIT_UNTIL('a.deadline + make_interval(secs => ?)')}
       FROM enrollments e
      WHERE a.launch_id = ? AND a.status = 'in_progress' AND a.deadline >= ? AND e.id = a.enrollment_id
      ${MOVED_RETURNING}`,
    [seconds, seconds, launchId, launch.old_closes_at],
  );
  return { closes_at: launch.closes_at, moved };
}

/**
 * Moves one student's offset in the launch by `seconds`, and its running attempt's deadline with
 * it. Null, with nothing changed, when the student's deadline has already passed, its new one would
 * not be in the future, or the launch is closed; `moved` is empty when the student has no running attempt (the offset
 * applies if it joins).
 */
export async function shiftStudentOffset(
  tx: SqlRunner,
  launchId: string,
  studentId: string,
  seconds: number,
): Promise<{ offset: number; moved: MovedAttemptRow[] } | null> {
  const [launch] = await tx.execute<Array<{ student_offset: number }>>(
    `UPDATE quiz_launches l
        SET student_offsets = l.student_offsets || jsonb_build_object(?::text, coalesce((l.student_offsets ->> ?::text)::int, 0) + ?)
       FROM (SELECT coalesce((SELECT a.deadline FROM quiz_attempts a JOIN enrollments e ON e.id = a.enrollment_id
                               WHERE a.launch_id = ql.id AND e.student_id = ? AND a.status = 'in_progress'),
                             ql.closes_at + make_interval(secs => coalesce((ql.student_offsets ->> ?::text)::int, 0))) AS deadline
               FROM quiz_launches ql WHERE ql.id = ? FOR UPDATE) current
      WHERE l.id = ? AND l.closed_at IS NULL AND current.deadline > now() AND current.deadline + make_interval(secs => ?) > now()
      RETURNING (l.student_offsets ->> ?::text)::int AS student_offset`,
    [studentId, studentId, seconds, studentId, studentId, launchId, launchId, seconds, studentId],
  );
  if (!launch) return null;
  const moved = await tx.execute<MovedAttemptRow[]>(
    `UPDATE quiz_attempts a SET deadline = a.deadline + make_interval(secs => ?),
            submit_until = ${SUBMIT_UNTIL('a.deadline + make_interval(secs => ?)')}
       FROM enrollments e
      WHERE a.launch_id = ? AND a.status = 'in_progress' AND e.id = a.enrollment_id AND e.student_id = ?
      ${MOVED_RETURNING}`,
    [seconds, seconds, launchId, studentId],
  );
  return { offset: launch.student_offset, moved };
}

/** Whether the user is a student of the launch's course (active or completed). */
export async function isLaunchStudent(db: SqlRunner, launchId: string, studentId: string): Promise<boolean> {
  const [row] = await db.execute<Array<{ found: boolean }>>(
    `SELECT EXISTS (SELECT 1 FROM quiz_launches l JOIN live_sessions ls ON ls.id = l.session_id
                      JOIN enrollments e ON e.course_id = ls.course_id AND e.student_id = ? AND e.status IN ('active', 'completed')
                     WHERE l.id = ?) AS found`,
    [studentId, launchId],
  );
  return !!row?.found;
}

/** When the launch's window (plus grace) ends, and whether it is summarised (the job's read). */
export async function launchWindow(
  db: SqlRunner,
  launchId: string,
  graceMs: number,
): Promise<{ due: string; due_passed: boolean; summarized: boolean; course_id: string } | null> {
  const [row] = await db.execute<Array<{ due: string; due_passed: boolean; summarized: boolean; course_id: string }>>(
    `SELECT l.closes_at + (? || ' milliseconds')::interval AS due, l.closes_at + (? || ' milliseconds')::interval <= now() AS due_passed,
            l.summarized_at IS NOT NULL AS summarized, ls.course_id
       FROM quiz_launches l JOIN live_sessions ls ON ls.id = l.session_id WHERE l.id = ?`,
    [String(graceMs), String(graceMs), launchId],
  );
  return row ?? null;
}

/** When the launch's next running attempt is due (end of its submit window + grace), or null when none runs. */
export async function nextLaunchAttemptDue(db: SqlRunner, launchId: string, graceMs: number): Promise<string | null> {
  const [row] = await db.execute<Array<{ due: string | null }>>(
    `SELECT min(coalesce(submit_until, deadline)) + (? || ' milliseconds')::interval AS due
       FROM quiz_attempts WHERE launch_id = ? AND status = 'in_progress'`,
    [String(graceMs), launchId],
  );
  return row?.due ?? null;
}

/** Launches whose window ended but that are not summarised yet (for the sweep). */
export async function unsettledLaunches(db: SqlRunner, graceMs: number, limit: number): Promise<string[]> {
  const rows = await db.execute<Array<{ id: string }>>(
    `SELECT id FROM quiz_launches WHERE summarized_at IS NULL AND closes_at + (? || ' milliseconds')::interval < now()
      ORDER BY closes_at LIMIT ?`,
    [String(graceMs), limit],
  );
  return rows.map((row) => row.id);
}

/**
 * Claims the launch's summary: marks it summarised and closed, only if its window has ended, it
 * is not summarised yet and none of its attempts runs. The row lock and the condition make
 * exactly one caller get the row back (in a transaction: the summary is written in it).
 */
export async function claimLaunchSummary(tx: SqlRunner, launchId: string): Promise<{ quiz_id: string; course_id: string } | null> {
  const [row] = await tx.execute<Array<{ quiz_id: string; course_id: string }>>(
    `UPDATE quiz_launches l SET summarized_at = now(), closed_at = coalesce(l.closed_at, now())
       FROM live_sessions ls
      WHERE l.id = ? AND ls.id = l.session_id AND l.summarized_at IS NULL AND l.closes_at <= now()
        AND NOT EXISTS (SELECT 1 FROM quiz_attempts a WHERE a.launch_id = l.id AND a.status = 'in_progress')
      RETURNING l.quiz_id, ls.course_id`,
    [launchId],
  );
  return row ?? null;
}

export async function launchAttemptResults(db: SqlRunner, launchId: string): Promise<LaunchAttemptResult[]> {
  const rows = await db.execute<
    Array<{
      status: string;
      score: string | null;
      max_score: string | null;
      percentage: string | null;
      is_passed: boolean | null;
      questions: LaunchAttemptResult['questions'];
    }>
  >(`SELECT status, score, max_score, percentage, is_passed, results -> 'questions' AS questions FROM quiz_attempts WHERE launch_id = ?`, [launchId]);
  const number = (value: string | null) => (value === null ? null : Number(value));
  return rows.map((row) => ({
    status: row.status,
    score: number(row.score),
    maxScore: number(row.max_score),
    percentage: number(row.percentage),
    isPassed: row.is_passed,
    questions: row.questions,
  }));
}

export async function writeLaunchSummary(tx: SqlRunner, launchId: string, summary: LaunchSummary): Promise<void> {
  await tx.execute('UPDATE quiz_launches SET summary = ? WHERE id = ?', [JSON.stringify(summary), launchId]);
}

/** One row per student with an attempt in the launch (the CSV export), by name. */
export interface LaunchStudentRow {
  student_id: string;
  full_name: string;
  email: string;
  status: string;
  score: string | null;
  percentage: string | null;
  is_passed: boolean | null;
  submitted_at: string | null;
  extra_seconds: number;
}

export async function launchStudents(db: SqlRunner, launchId: string): Promise<LaunchStudentRow[]> {
  return db.execute<LaunchStudentRow[]>(
    `SELECT u.id AS student_id, u.full_name, u.email, a.status, a.score, a.percentage, a.is_passed, a.submitted_at,
            coalesce((l.student_offsets ->> u.id::text)::int, 0) + coalesce(o.extra_time_seconds, 0) AS extra_seconds
       FROM quiz_attempts a
       JOIN quiz_launches l ON l.id = a.launch_id
       JOIN enrollments e ON e.id = a.enrollment_id
       JOIN users u ON u.id = e.student_id
       LEFT JOIN quiz_overrides o ON o.quiz_id = l.quiz_id AND o.student_id = u.id
      WHERE a.launch_id = ?
      ORDER BY u.full_name, u.email`,
    [launchId],
  );
}

/**
 * A launch's live counts in one statement: attempts by status, those the student submitted, and
 * per question of the quiz how many attempts hold a saved answer to it.
 */
export async function launchCounts(db: SqlRunner, launchId: string): Promise<LaunchCounts | null> {
  const [row] = await db.execute<Array<Omit<LaunchCounts, 'answered'> & { answered: Record<string, number> | null; found: boolean }>>(
    `SELECT EXISTS (SELECT 1 FROM quiz_launches WHERE id = ?) AS found,
            count(*)::int AS started,
            (count(*) FILTER (WHERE a.status = 'in_progress'))::int AS running,
            (count(*) FILTER (WHERE a.status IN ('submitted', 'graded') AND NOT a.auto_submitted))::int AS submitted,
            (count(*) FILTER (WHERE a.status = 'graded'))::int AS graded,
            (count(*) FILTER (WHERE a.status = 'abandoned'))::int AS abandoned,
            (SELECT jsonb_object_agg(question_id, n) FROM (
               SELECT question_id, count(*)::int AS n FROM quiz_attempts b, jsonb_object_keys(coalesce(b.answers, '{}'::jsonb)) AS question_id
                WHERE b.launch_id = ? GROUP BY question_id) answered) AS answered
       FROM quiz_attempts a WHERE a.launch_id = ?`,
    [launchId, launchId, launchId],
  );
  if (!row?.found) return null;
  const { found: _found, answered, ...counts } = row;
  return { ...counts, answered: answered ?? {} };
}
