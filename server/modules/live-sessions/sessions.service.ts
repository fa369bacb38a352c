import type { EntityManager } from '@mikro-orm/postgresql';
import type { AuthUser } from '../auth/auth-user.js';
import { loadCourseAccess, requireCourseManager } from '../courses/courses.access.js';
import type { ServiceDeps } from '../deps.js';
import type { GradingDeps } from '../attempts/attempts.service.js';
import { closeOpenLaunchOfSession } from './launches.service.js';
import { conflict, forbidden, notFound } from '../../platform/errors.js';
import { decimal, iso, toIso } from '../../platform/schemas.js';
import type { SqlRunner } from '../../platform/db/sql.js';
import type { CurrentSessionJson, LiveSessionJson, SessionHistoryJson } from './sessions.schemas.js';
import {
  attendanceOf,
  courseSessions,
  endSessionRow,
  idleSessionIds,
  insertLiveSession,
  launchAttemptOf,
  launchesOf,
  lessonInCourse,
  liveSessionOfCourse,
  openLaunchOf,
  rosterPage,
  sessionById,
  setSessionLesson,
  touchAttendance,
  type SessionRow,
} from './sessions.queries.js';
import { pageOf, pageWindow, type PageQuery } from '../../platform/paging.js';

function sessionJson(row: SessionRow): LiveSessionJson {
  return {
    id: row.id,
    courseId: row.course_id,
    status: row.status,
    startedBy: row.started_by,
    currentLesson: row.current_lesson_id && row.current_lesson_title !== null ? { id: row.current_lesson_id, title: row.current_lesson_title } : null,
    startedAt: toIso(row.started_at),
    endedAt: iso(row.ended_at),
    lastActivityAt: toIso(row.last_activity_at),
  };
}

/** Whether the course has a live session now (an unpublish is refused while it has). */
export async function hasLiveSession(db: SqlRunner, courseId: string): Promise<boolean> {
  return (await liveSessionOfCourse(db, courseId)) !== null;
}

/**
 * `POST /courses/:id/live-sessions`: starts the course's live session (owner, admin). The course
 * must be published; of two starts racing, the database's partial unique index lets one win and
 * the other gets 409 `CONFLICT`. Every student of the course online now is recorded as attending.
 */
export async function startLiveSession(deps: Pick<ServiceDeps, 'em' | 'presence' | 'publisher'>, user: AuthUser, courseId: string): Promise<LiveSessionJson> {
  const { em } = deps;
  const { course } = await requireCourseManager(em, courseId, user);
  if (!course.isPublished) throw conflict('Publish the course before starting a live session');
  const online = await deps.presence.online(courseId);
  const row = await insertLiveSession(em, courseId, user.id, online);
  if (!row) {
    // Nothing inserted: another session is live, or the course was unpublished meanwhile.
    if (await hasLiveSession(em, courseId)) throw conflict('The course already has a live session');
    throw conflict('Publish the course before starting a live session');
  }
  deps.publisher.liveSessionStarted({ sessionId: row.id, courseId });
  return sessionJson(row);
}

/**
 * `GET /courses/:id/live-sessions/current`: the live session (404 without one) with its current
 * lesson and open launch; a student also gets its attempt in that launch, the course's managers
 * a page of the roster (students of the course, online or not, with their launch attempt's status
 * and their progress).
 */
export async function getCurrentLiveSession(
  deps: Pick<ServiceDeps, 'em' | 'presence' | 'clock'>,
  user: AuthUser,
  courseId: string,
  page: PageQuery,
): Promise<CurrentSessionJson> {
  const { em } = deps;
  const access = await loadCourseAccess(em, courseId, user);
  if (!access.isManager && !access.isEnrollee) throw forbidden('Only students of the course, its owner and admins see its live session');
  const session = await liveSessionOfCourse(em, courseId);
  if (!session) throw notFound('Live session');
  const launch = await openLaunchOf(em, session.id);
  const result: CurrentSessionJson = {
    ...sessionJson(session),
    openLaunch: launch ? { id: launch.id, quizId: launch.quiz_id, closesAt: toIso(launch.closes_at) } : null,
    serverNow: deps.clock.now().toISOString(),
  };
  if (access.isManager) {
    const [{ rows, total }, online] = await Promise.all([rosterPage(em, courseId, launch?.id ?? null, pageWindow(page)), deps.presence.online(courseId)]);
    const onlineSet = new Set(online);
    result.roster = {
      items: rows.map((row) => ({
        studentId: row.student_id,
        fullName: row.full_name,
        online: onlineSet.has(row.student_id),
        attemptStatus: row.attempt_status,
        progressPercentage: decimal(row.progress_percentage) ?? 0,
      })),
      total,
      page: page.page,
      limit: page.limit,
    };
  } else {
    const attempt = launch && access.enrollment ? await launchAttemptOf(em, launch.id, access.enrollment.id) : null;
    result.myAttempt = attempt ? { id: attempt.id, status: attempt.status, deadline: iso(attempt.deadline) } : null;
  }
  return result;
}

/**
 * `GET /courses/:id/live-sessions`: the course's sessions, newest first (owner, admin), each with
 * who attended and the summaries of its launches.
 */
export async function listLiveSessions(deps: Pick<ServiceDeps, 'em'>, user: AuthUser, courseId: string, page: PageQuery) {
  const { em } = deps;
  await requireCourseManager(em, courseId, user);
  const { rows, total } = await courseSessions(em, courseId, pageWindow(page));
  const ids = rows.map((row) => row.id);
  const [attendance, launches] = await Promise.all([attendanceOf(em, ids), launchesOf(em, ids)]);
  const items: SessionHistoryJson[] = rows.map((row) => {
    const attendees = attendance
      .filter((item) => item.session_id === row.id)
      .map((item) => ({ userId: item.user_id, fullName: item.full_name, firstSeenAt: toIso(item.first_seen_at), lastSeenAt: toIso(item.last_seen_at) }));
    return {
      ...sessionJson(row),
      attendance: { count: attendees.length, items: attendees },
      launches: launches
        .filter((launch) => launch.session_id === row.id)
        .map((launch) => ({
          id: launch.id,
          quizId: launch.quiz_id,
          opensAt: toIso(launch.opens_at),
          closesAt: toIso(launch.closes_at),
          closedAt: iso(launch.closed_at),
          summary: launch.summary,
        })),
    };
  });
  return pageOf(items, total, page);
}

/** The session and the insistence on a manager of its course (404 for an unknown session). */
async function requireSessionManager(em: EntityManager, sessionId: string, user: AuthUser): Promise<SessionRow> {
  const session = await sessionById(em, sessionId);
  if (!session) throw notFound('Live session');
  await requireCourseManager(em, session.course_id, user);
  return session;
}

/**
 * `PATCH /live-sessions/:id {currentLessonId}`: "follow me" (owner, admin). The lesson must be
 * one of the course's (404 otherwise); null points to none. 409 once the session ended.
 */
export async function setCurrentLesson(
  deps: Pick<ServiceDeps, 'em' | 'publisher'>,
  user: AuthUser,
  sessionId: string,
  lessonId: string | null,
): Promise<LiveSessionJson> {
  const { em } = deps;
  const session = await requireSessionManager(em, sessionId, user);
  if (lessonId !== null && !(await lessonInCourse(em, lessonId, session.course_id))) throw notFound('Lesson of this course');
  if (!(await setSessionLesson(em, sessionId, lessonId))) throw conflict('The live session has ended');
  deps.publisher.liveSessionLessonChanged({ sessionId, courseId: session.course_id, lessonId });
  const updated = await sessionById(em, sessionId);
  if (!updated) throw notFound('Live session');
  return sessionJson(updated);
}

/**
 * Ends a live session, if it is still live (and, with `idleMs`, still idle that long), and
 * announces it; false when someone else ended it first (nothing announced). The one place a
 * session ends, for `POST /live-sessions/:id/end` and the sweep alike: closing the session's open
 * launch belongs here, before the session's row is ended.
 */
export async function finishLiveSession(deps: GradingDeps, sessionId: string, options: { idleMs?: number } = {}): Promise<boolean> {
  // Ended by an instructor: the open launch closes first (its window ends, its attempts finish by
  // their policy). Ended as idle: only once the conditional end found it still idle.
  if (options.idleMs === undefined) await closeOpenLaunchOfSession(deps, sessionId);
  const ended = await endSessionRow(deps.em, sessionId, options.idleMs);
  if (!ended) return false;
  if (options.idleMs !== undefined) await closeOpenLaunchOfSession(deps, sessionId);
  deps.publisher.liveSessionEnded({ sessionId: ended.id, courseId: ended.course_id });
  return true;
}

/**
 * `POST /live-sessions/:id/end` (the owner, or any admin): ends the session. Ending one that has
 * already ended is 409 `CONFLICT` (nothing changes, nothing is announced again).
 */
export async function endLiveSession(deps: GradingDeps, user: AuthUser, sessionId: string): Promise<LiveSessionJson> {
  const { em } = deps;
  await requireSessionManager(em, sessionId, user);
  if (!(await finishLiveSession(deps, sessionId))) throw conflict('The live session has already ended');
  const ended = await sessionById(em, sessionId);
  if (!ended) throw notFound('Live session');
  return sessionJson(ended);
}

/** Sessions the sweep ends per run; the rest wait for the next run. */
const IDLE_BATCH = 500;

/** The sweep: ends live sessions idle for `config.liveSessionIdleMs` (12 h by default); how many it ended. */
export async function endIdleLiveSessions(deps: GradingDeps): Promise<number> {
  const idleMs = deps.config.liveSessionIdleMs;
  let ended = 0;
  for (const sessionId of await idleSessionIds(deps.em, idleMs, IDLE_BATCH)) {
    if (await finishLiveSession(deps, sessionId, { idleMs })) ended++;
  }
  return ended;
}

/**
 * Who came online in a course and who went offline (a presence batch): during a live session the
 * students who came attend it, and both are seen now (one statement, writing nothing without a
 * session). Never throws: a failure is logged, and the presence batch it follows is sent anyway.
 */
export async function recordAttendance(deps: Pick<ServiceDeps, 'em' | 'log'>, change: { courseId: string; joined: string[]; left: string[] }): Promise<void> {
  if (change.joined.length === 0 && change.left.length === 0) return;
  try {
    await touchAttendance(deps.em, change.courseId, change.joined, change.left);
  } catch (error) {
    deps.log.warn({ err: error, courseId: change.courseId }, 'recording live session attendance failed');
  }
}
