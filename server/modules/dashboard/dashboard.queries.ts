import type { EntityManager } from '@mikro-orm/postgresql';
import type { IEnrollment, IQuizAttempt, IUser } from '../../../entities/index.js';
import type { RowOf } from '../../platform/db/rows.js';

type EnrollmentColumns = Pick<
  RowOf<IEnrollment, 'progressPercentage'>,
  'student_id' | 'status' | 'progress_percentage' | 'completed_lessons_count' | 'total_lessons_count' | 'total_time_spent_seconds' | 'completed_at'
>;

/** A student of the course with its enrollment's progress, when it last did something and on which lesson. */
export type StudentRow = EnrollmentColumns &
  Pick<RowOf<IUser>, 'full_name' | 'email'> & {
    enrollment_id: string;
    last_activity_at: string | null;
    last_lesson_id: string | null;
    last_lesson_title: string | null;
  };

/** A graded attempt, as `quiz:graded` carried it (grading sets `is_passed` and `graded_at`). */
export type GradeRow = Pick<
  RowOf<IQuizAttempt, 'score' | 'maxScore' | 'percentage'>,
  'id' | 'quiz_id' | 'score' | 'max_score' | 'percentage' | 'auto_submitted'
> & {
  is_passed: boolean;
  graded_at: string;
  student_id: string;
};

/** A running attempt. */
export type RunningRow = Pick<RowOf<IQuizAttempt>, 'id' | 'quiz_id' | 'started_at' | 'deadline'> & { student_id: string };

/** Every enrollment of the course with its student, by name. */
export async function studentRows(em: EntityManager, courseId: string): Promise<StudentRow[]> {
  return em.execute<StudentRow[]>(
    `SELECT e.id AS enrollment_id, e.student_id, u.full_name, u.email, e.status, e.progress_percentage,
            e.completed_lessons_count, e.total_lessons_count, e.total_time_spent_seconds, e.completed_at,
            greatest(e.created_at, last.updated_at) AS last_activity_at, l.id AS last_lesson_id, l.title AS last_lesson_title
       FROM enrollments e JOIN users u ON u.id = e.student_id
       LEFT JOIN LATERAL (
         SELECT lp.lesson_id, lp.updated_at FROM lesson_progress lp WHERE lp.enrollment_id = e.id ORDER BY lp.updated_at DESC, lp.lesson_id LIMIT 1
       ) last ON true
       LEFT JOIN lessons l ON l.id = last.lesson_id
      WHERE e.course_id = ?
      ORDER BY u.full_name, e.id`,
    [courseId],
  );
}

/** The course's attempts graded within `window` (an SQL interval), newest first, at most `limit`. */
export async function recentGradeRows(em: EntityManager, courseId: string, window: string, limit: number): Promise<GradeRow[]> {
  return em.execute<GradeRow[]>(
    `SELECT a.id, a.quiz_id, e.student_id, a.score, a.max_score, a.percentage, a.is_passed, a.auto_submitted, a.graded_at
       FROM quiz_attempts a JOIN enrollments e ON e.id = a.enrollment_id
      WHERE e.course_id = ? AND a.status = 'graded' AND a.graded_at > now() - ?::interval
      ORDER BY a.graded_at DESC, a.id
      LIMIT ?`,
    [courseId, window, limit],
  );
}

/** The course's running attempts, newest first, at most `limit`. */
export async function runningAttemptRows(em: EntityManager, courseId: string, limit: number): Promise<RunningRow[]> {
  return em.execute<RunningRow[]>(
    `SELECT a.id, a.quiz_id, e.student_id, a.started_at, a.deadline
       FROM quiz_attempts a JOIN enrollments e ON e.id = a.enrollment_id
      WHERE e.course_id = ? AND a.status = 'in_progress'
      ORDER BY a.started_at DESC, a.id
      LIMIT ?`,
    [courseId, limit],
  );
}
