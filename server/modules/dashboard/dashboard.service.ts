import type { EntityManager } from '@mikro-orm/postgresql';
import type { EnrollmentStatus } from '../../../entities/enums.js';
import type { AuthUser } from '../../plugins/auth.js';
import { decimal, iso, toIso } from '../../platform/schemas.js';
import { requireCourseManager } from '../courses/courses.access.js';
import type { ServiceDeps } from '../deps.js';
import { courseQuizStats } from '../quizzes/quizzes.service.js';

interface StudentRow {
  enrollment_id: string;
  student_id: string;
  full_name: string;
  email: string;
  status: EnrollmentStatus;
  progress_percentage: string | number;
  completed_lessons_count: number;
  total_lessons_count: number;
  total_time_spent_seconds: number;
  completed_at: string | null;
  last_activity_at: string | null;
}

interface GradeRow {
  id: string;
  quiz_id: string;
  student_id: string;
  score: string | number;
  max_score: string | number;
  percentage: string | number;
  is_passed: boolean;
  auto_submitted: boolean;
  graded_at: string;
}

interface RunningRow {
  id: string;
  quiz_id: string;
  student_id: string;
  started_at: string;
  deadline: string | null;
}

/** Grades the snapshot carries: enough to rebuild a dashboard whose connection missed some. */
const RECENT_GRADES_LIMIT = 50;
const RECENT_GRADES_WINDOW = '1 hour';
/** Running attempts the snapshot carries, newest first (untimed attempts may stay open for good). */
const RUNNING_ATTEMPTS_LIMIT = 500;

/**
 * `GET /courses/:id/dashboard`: what an instructor's live dashboard starts from, and rebuilds
 * itself from after a reconnect that recovered nothing (the events sent meanwhile are lost): the
 * recent grades (as `quiz:graded` carried them) and the attempts running now, with who is online
 * (`deps.presence`) and the quizzes' statistics (the quizzes service).
 */
export async function getDashboard(deps: Pick<ServiceDeps, 'em' | 'presence' | 'clock'>, user: AuthUser, courseId: string) {
  const { em } = deps;
  const { course } = await requireCourseManager(em, courseId, user);
  const [rows, online, quizzes, grades, running] = await Promise.all([
    em.execute<StudentRow[]>(
      `SELECT e.id AS enrollment_id, e.student_id, u.full_name, u.email, e.status, e.progress_percentage,
              e.completed_lessons_count, e.total_lessons_count, e.total_time_spent_seconds, e.completed_at,
              greatest(e.created_at, (SELECT max(lp.updated_at) FROM lesson_progress lp WHERE lp.enrollment_id = e.id)) AS last_activity_at
         FROM enrollments e JOIN users u ON u.id = e.student_id
        WHERE e.course_id = ?
        ORDER BY u.full_name, e.id`,
      [courseId],
    ),
    deps.presence.online(courseId),
    courseQuizStats(em, courseId),
    em.execute<GradeRow[]>(
      `SELECT a.id, a.quiz_id, e.student_id, a.score, a.max_score, a.percentage, a.is_passed, a.auto_submitted, a.graded_at
         FROM quiz_attempts a JOIN enrollments e ON e.id = a.enrollment_id
        WHERE e.course_id = ? AND a.status = 'graded' AND a.graded_at > now() - interval '${RECENT_GRADES_WINDOW}'
        ORDER BY a.graded_at DESC, a.id
        LIMIT ${RECENT_GRADES_LIMIT}`,
      [courseId],
    ),
    em.execute<RunningRow[]>(
      `SELECT a.id, a.quiz_id, e.student_id, a.started_at, a.deadline
         FROM quiz_attempts a JOIN enrollments e ON e.id = a.enrollment_id
        WHERE e.course_id = ? AND a.status = 'in_progress'
        ORDER BY a.started_at DESC, a.id
        LIMIT ${RUNNING_ATTEMPTS_LIMIT}`,
      [courseId],
    ),
  ]);
  const onlineSet = new Set(online);
  const students = rows.map((row) => ({
    enrollmentId: row.enrollment_id,
    studentId: row.student_id,
    fullName: row.full_name,
    email: row.email,
    status: row.status,
    progressPercentage: decimal(row.progress_percentage) ?? 0,
    completedLessonsCount: row.completed_lessons_count,
    totalLessonsCount: row.total_lessons_count,
    totalTimeSpentSeconds: row.total_time_spent_seconds,
    completedAt: iso(row.completed_at),
    lastActivityAt: iso(row.last_activity_at),
    online: onlineSet.has(row.student_id),
  }));
  const counted = students.filter((student) => student.status !== 'dropped');
  const average = counted.length ? counted.reduce((sum, student) => sum + student.progressPercentage, 0) / counted.length : 0;
  return {
    course: { id: course.id, slug: course.slug, title: course.title },
    totals: {
      enrolled: students.length,
      active: students.filter((student) => student.status === 'active').length,
      completed: students.filter((student) => student.status === 'completed').length,
      dropped: students.filter((student) => student.status === 'dropped').length,
      averageProgress: Math.round(average * 100) / 100,
    },
    students,
    online,
    quizzes,
    recentGrades: grades.map((row) => ({
      attemptId: row.id,
      quizId: row.quiz_id,
      studentId: row.student_id,
      score: decimal(row.score) ?? 0,
      maxScore: decimal(row.max_score) ?? 0,
      percentage: decimal(row.percentage) ?? 0,
      isPassed: row.is_passed,
      autoSubmitted: row.auto_submitted,
      gradedAt: toIso(row.graded_at),
    })),
    runningAttempts: running.map((row) => ({
      attemptId: row.id,
      quizId: row.quiz_id,
      studentId: row.student_id,
      startedAt: toIso(row.started_at),
      deadline: iso(row.deadline),
    })),
    serverNow: deps.clock.now().toISOString(),
  };
}
