import type { AuthUser } from '../auth/auth-user.js';
import { decimal, iso, toIso } from '../../platform/schemas.js';
import { requireCourseManager } from '../courses/courses.access.js';
import type { ServiceDeps } from '../deps.js';
import { recentGradeRows, runningAttemptRows, studentRows } from './dashboard.queries.js';
import { courseQuizStats } from '../quizzes/quizzes.service.js';

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
    studentRows(em, courseId),
    deps.presence.online(courseId),
    courseQuizStats(em, courseId),
    recentGradeRows(em, courseId, RECENT_GRADES_WINDOW, RECENT_GRADES_LIMIT),
    runningAttemptRows(em, courseId, RUNNING_ATTEMPTS_LIMIT),
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
    lastLesson: row.last_lesson_id ? { id: row.last_lesson_id, title: row.last_lesson_title! } : null,
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
