import type { EntityManager } from '@mikro-orm/postgresql';
import type { ILiveSession, ILiveSessionAttendance, IQuizAttempt, IQuizLaunch, IUser } from '../../../entities/index.js';
import type { RowOf } from '../../platform/db/rows.js';
import type { SqlRunner } from '../../platform/db/sql.js';
import { ACCESS_GRANTING_STATUSES } from '../courses/courses.access.js';

// Live sessions are written with SQL: starting one races other starts (the partial unique index
// decides), ending one races the sweep and other instructors (conditional UPDATEs decide), and
// attendance is set-based (docs/data-access.md).

/** A session with the title of the lesson it points to (null when none, or when that lesson was deleted). */
export type SessionRow = Omit<RowOf<ILiveSession>, 'started_by_id'> & { started_by: string | null; current_lesson_title: string | null };

const SESSION_COLUMNS = `id, course_id, started_by, status, current_lesson_id, started_at, ended_at, last_activity_at`;
const SESSION_SELECT = `SELECT s.id, s.course_id, s.started_by, s.status, s.current_lesson_id, s.started_at, s.ended_at, s.last_activity_at,
         l.title AS current_lesson_title
  FROM live_sessions s LEFT JOIN lessons l ON l.id = s.current_lesson_id`;

/**
 * Starts a live session and records as attending every student of the course (active or
 * completed enrollee) among `onlineUserIds`, in one statement. Returns null when nothing was
 * inserted: the course has a live session already (the partial unique index
 * `live_sessions_one_live_per_course_idx`, so of two racing starts one wins) or is not published.
 * The course row is read `FOR SHARE`, so an unpublish that locks it waits for this start and then
 * sees the session (and an unpublish that locked first makes this insert nothing).
 *
 * The online ids are one array parameter, `e.student_id = ANY(?::uuid[])`: a filter PostgreSQL
 * evaluates with a hash of the array, or index lookups, whatever it estimates. Joined as rows
 * (`IN (SELECT … jsonb_array_elements_text(…))`, or a join to their DISTINCT), the plan depended on
 * the statistics of a course filled minutes ago, and twice re-read the whole list per enrollment:
 * 10,000 × 10,000 comparisons at a lecture's start (docs/data-access.md).
 */
export async function insertLiveSession(em: EntityManager, courseId: string, startedBy: string, onlineUserIds: string[]): Promise<SessionRow | null> {
  const rows = await em.execute<SessionRow[]>(
    `WITH course AS (
       SELECT id FROM courses WHERE id = ? AND is_published FOR SHARE
     ),
     s AS (
       INSERT INTO live_sessions (course_id, started_by)
       SELECT id, ? FROM course
       ON CONFLICT (course_id) WHERE status = 'live' DO NOTHING
       RETURNING ${SESSION_COLUMNS}
     ),
     attendance AS (
       INSERT INTO live_session_attendance (session_id, user_id)
       SELECT s.id, e.student_id
         FROM s JOIN enrollments e ON e.course_id = s.course_id AND e.status IN ('active', 'completed') AND e.student_id = ANY(?::uuid[])
     )
     SELECT s.*, NULL::text AS current_lesson_title FROM s`,
    [courseId, startedBy, onlineUserIds],
  );
  return rows[0] ?? null;
}

export async function sessionById(em: EntityManager, sessionId: string): Promise<SessionRow | null> {
  const [row] = await em.execute<SessionRow[]>(`${SESSION_SELECT} WHERE s.id = ?`, [sessionId]);
  return row ?? null;
}

export async function liveSessionOfCourse(db: SqlRunner, courseId: string): Promise<SessionRow | null> {
  const [row] = await db.execute<SessionRow[]>(`${SESSION_SELECT} WHERE s.course_id = ? AND s.status = 'live'`, [courseId]);
  return row ?? null;
}

/** A page of a course's sessions, newest first, and how many it has. */
export async function courseSessions(
  em: EntityManager,
  courseId: string,
  page: { limit: number; offset: number },
): Promise<{ rows: SessionRow[]; total: number }> {
  const [rows, count] = await Promise.all([
    em.execute<SessionRow[]>(`${SESSION_SELECT} WHERE s.course_id = ? ORDER BY s.started_at DESC, s.id DESC LIMIT ? OFFSET ?`, [
      courseId,
      page.limit,
      page.offset,
    ]),
    em.execute<Array<{ total: number }>>('SELECT count(*)::int AS total FROM live_sessions WHERE course_id = ?', [courseId]),
  ]);
  return { rows, total: count[0].total };
}

export type AttendanceRow = Pick<RowOf<ILiveSessionAttendance>, 'session_id' | 'user_id' | 'first_seen_at' | 'last_seen_at'> & Pick<RowOf<IUser>, 'full_name'>;

/** Who attended each of these sessions, in the order they were first seen. */
export async function attendanceOf(em: EntityManager, sessionIds: string[]): Promise<AttendanceRow[]> {
  if (sessionIds.length === 0) return [];
  return em.execute<AttendanceRow[]>(
    `SELECT a.session_id, a.user_id, a.first_seen_at, a.last_seen_at, u.full_name
       FROM live_session_attendance a JOIN users u ON u.id = a.user_id
      WHERE a.session_id IN (SELECT value::uuid FROM jsonb_array_elements_text(?::jsonb))
      ORDER BY a.first_seen_at, u.full_name, a.user_id`,
    [JSON.stringify(sessionIds)],
  );
}

export type LaunchRow = Pick<RowOf<IQuizLaunch>, 'id' | 'session_id' | 'quiz_id' | 'opens_at' | 'closes_at' | 'closed_at' | 'summary'>;

/** The launches of these sessions, oldest first. */
export async function launchesOf(em: EntityManager, sessionIds: string[]): Promise<LaunchRow[]> {
  if (sessionIds.length === 0) return [];
  return em.execute<LaunchRow[]>(
    `SELECT id, session_id, quiz_id, opens_at, closes_at, closed_at, summary
       FROM quiz_launches
      WHERE session_id IN (SELECT value::uuid FROM jsonb_array_elements_text(?::jsonb))
      ORDER BY opens_at, id`,
    [JSON.stringify(sessionIds)],
  );
}

/** The session's open launch (at most one: `quiz_launches_one_open_per_session_idx`). */
export async function openLaunchOf(em: EntityManager, sessionId: string): Promise<LaunchRow | null> {
  const [row] = await em.execute<LaunchRow[]>(
    'SELECT id, session_id, quiz_id, opens_at, closes_at, closed_at, summary FROM quiz_launches WHERE session_id = ? AND closed_at IS NULL',
    [sessionId],
  );
  return row ?? null;
}

export type LaunchAttemptRow = Pick<RowOf<IQuizAttempt>, 'id' | 'status' | 'deadline'>;

/** The attempt an enrollment has in a launch (one at most: unique `(launch_id, enrollment_id)`). */
export async function launchAttemptOf(em: EntityManager, launchId: string, enrollmentId: string): Promise<LaunchAttemptRow | null> {
  const [row] = await em.execute<LaunchAttemptRow[]>('SELECT id, status, deadline FROM quiz_attempts WHERE launch_id = ? AND enrollment_id = ?', [
    launchId,
    enrollmentId,
  ]);
  return row ?? null;
}

export type RosterRow = Pick<RowOf<IUser>, 'full_name'> & {
  student_id: string;
  enrollment_id: string;
  progress_percentage: string;
  attempt_status: string | null;
};

/**
 * A page of the students of the course (active or completed enrollees), by name, with their
 * progress and their attempt's status in `launchId` (null without a launch or an attempt).
 */
export async function rosterPage(
  em: EntityManager,
  courseId: string,
  launchId: string | null,
  page: { limit: number; offset: number },
): Promise<{ rows: RosterRow[]; total: number }> {
  const [rows, count] = await Promise.all([
    em.execute<RosterRow[]>(
      `SELECT e.student_id, e.id AS enrollment_id, e.progress_percentage, u.full_name, a.status AS attempt_status
         FROM enrollments e
         JOIN users u ON u.id = e.student_id
         LEFT JOIN quiz_attempts a ON a.launch_id = ? AND a.enrollment_id = e.id
        WHERE e.course_id = ? AND e.status IN ('active', 'completed')
        ORDER BY u.full_name, e.student_id
        LIMIT ? OFFSET ?`,
      [launchId, courseId, page.limit, page.offset],
    ),
    em.execute<Array<{ total: number }>>(`SELECT count(*)::int AS total FROM enrollments WHERE course_id = ? AND status IN ('active', 'completed')`, [
      courseId,
    ]),
  ]);
  return { rows, total: count[0].total };
}

/** Whether the lesson belongs to the course. */
export async function lessonInCourse(em: EntityManager, lessonId: string, courseId: string): Promise<boolean> {
  const rows = await em.execute<Array<{ id: string }>>('SELECT id FROM lessons WHERE id = ? AND course_id = ?', [lessonId, courseId]);
  return rows.length > 0;
}

/** Points a live session to a lesson (or none) and moves its activity; null when it is no longer live. */
export async function setSessionLesson(em: EntityManager, sessionId: string, lessonId: string | null): Promise<{ id: string } | null> {
  const [row] = await em.execute<Array<{ id: string }>>(
    `UPDATE live_sessions SET current_lesson_id = ?, last_activity_at = now() WHERE id = ? AND status = 'live' RETURNING id`,
    [lessonId, sessionId],
  );
  return row ?? null;
}

/**
 * Ends a live session; with `idleMs`, only if it has been idle that long (the sweep: an
 * instructor's action in between keeps it live). Null when it was not live (or not idle): someone
 * else ended it first, so exactly one caller announces the end.
 */
export async function endSessionRow(db: SqlRunner, sessionId: string, idleMs?: number): Promise<Pick<RowOf<ILiveSession>, 'id' | 'course_id'> | null> {
  const idle = idleMs === undefined ? '' : `AND last_activity_at < now() - ? * interval '1 millisecond'`;
  const [row] = await db.execute<Array<Pick<RowOf<ILiveSession>, 'id' | 'course_id'>>>(
    `UPDATE live_sessions SET status = 'ended', ended_at = now() WHERE id = ? AND status = 'live' ${idle} RETURNING id, course_id`,
    idleMs === undefined ? [sessionId] : [sessionId, idleMs],
  );
  return row ?? null;
}

/** Live sessions without activity for `idleMs` (the sweep ends them), oldest activity first. */
export async function idleSessionIds(em: EntityManager, idleMs: number, limit: number): Promise<string[]> {
  const rows = await em.execute<Array<{ id: string }>>(
    `SELECT id FROM live_sessions WHERE status = 'live' AND last_activity_at < now() - ? * interval '1 millisecond' ORDER BY last_activity_at LIMIT ?`,
    [idleMs, limit],
  );
  return rows.map((row) => row.id);
}

/**
 * Presence changes of a course during its live session, in one statement that writes nothing
 * without one: the enrollees among `cameOnline` attend it (first seen now, or seen again), and
 * those among `wentOffline` already attending were last seen now.
 */
export async function touchAttendance(em: EntityManager, courseId: string, cameOnline: string[], wentOffline: string[]): Promise<void> {
  await em.execute(
    `WITH s AS (
       SELECT id, course_id FROM live_sessions WHERE course_id = ? AND status = 'live'
     ),
     came AS (
       INSERT INTO live_session_attendance (session_id, user_id)
       SELECT s.id, e.student_id
         FROM s JOIN enrollments e ON e.course_id = s.course_id AND e.status = ANY(?::text[]) AND e.student_id = ANY(?::uuid[])
       ON CONFLICT (session_id, user_id) DO UPDATE SET last_seen_at = now()
     )
     UPDATE live_session_attendance a SET last_seen_at = now() FROM s WHERE a.session_id = s.id AND a.user_id = ANY(?::uuid[])`,
    [courseId, [...ACCESS_GRANTING_STATUSES], cameOnline, wentOffline],
  );
}
