import type { EnrollmentStatus, IQuiz, IQuizAttempt, IQuizQuestion } from '../../../entities/index.js';
import type { ChoiceOption } from '../../domain/grading.js';
import type { SqlRunner } from '../../platform/db/sql.js';
import type { RowOf } from '../../platform/db/rows.js';

// The quizzes component's SQL (docs/data-access.md): the hot quiz read, and set-based reads of
// attempts (lists, counts, statistics). Quizzes and questions are edited with the ORM.

/** A quiz with its course's owner and publication, the caller's enrollment and its question count. */
export type QuizReadRow = Omit<RowOf<IQuiz>, 'metadata' | 'lesson_id'> & {
  /** Never null here: the quiz is joined to its lesson. */
  lesson_id: string;
  metadata: Record<string, unknown> | null;
  instructor_id: string;
  course_published: boolean;
  enrollment_status: EnrollmentStatus | null;
  question_count: number;
};

export type QuestionReadRow = Omit<RowOf<IQuizQuestion>, 'options'> & { options: ChoiceOption[] | null };

/** One statement for `GET /quizzes/:id` (the hottest quiz read). */
export async function quizReadRow(db: SqlRunner, quizId: string, userId: string): Promise<QuizReadRow | null> {
  const [row] = await db.execute<QuizReadRow[]>(
    `SELECT q.id, q.lesson_id, q.title, q.description, q.quiz_type, q.passing_score, q.time_limit_minutes,
            q.time_limit_seconds, q.max_attempts, q.shuffle_questions, q.shuffle_options, q.show_correct_answers,
            q.is_published, q.metadata, q.created_at, q.updated_at, q.overdue_handling, q.grace_period_seconds,
            c.instructor_id, c.is_published AS course_published, e.status AS enrollment_status,
            (SELECT count(*)::int FROM quiz_questions qq WHERE qq.quiz_id = q.id) AS question_count
       FROM quizzes q
       JOIN lessons l ON l.id = q.lesson_id
       JOIN courses c ON c.id = l.course_id
       LEFT JOIN enrollments e ON e.course_id = c.id AND e.student_id = ?
      WHERE q.id = ?`,
    [userId, quizId],
  );
  return row ?? null;
}

/** The quiz's questions in order, with their answers (for managers). */
export async function questionReadRows(db: SqlRunner, quizId: string): Promise<QuestionReadRow[]> {
  return db.execute<QuestionReadRow[]>(
    `SELECT id, quiz_id, question_text, question_type, points, order_index, options, correct_answer, explanation, created_at, updated_at
       FROM quiz_questions WHERE quiz_id = ? ORDER BY order_index, created_at`,
    [quizId],
  );
}

/** The order index after the quiz's last question (0 for the first). */
export async function nextQuestionIndex(db: SqlRunner, quizId: string): Promise<number> {
  const [next] = await db.execute<Array<{ n: number }>>('SELECT coalesce(max(order_index) + 1, 0)::int AS n FROM quiz_questions WHERE quiz_id = ?', [quizId]);
  return next.n;
}

/** How many attempts (any status) the quiz has. */
export async function attemptCount(db: SqlRunner, quizId: string): Promise<number> {
  const [row] = await db.execute<Array<{ n: number }>>('SELECT count(*)::int AS n FROM quiz_attempts WHERE quiz_id = ?', [quizId]);
  return row.n;
}

export type AttemptSummaryRow = Pick<
  RowOf<IQuizAttempt, 'score' | 'maxScore' | 'percentage'>,
  | 'id'
  | 'quiz_id'
  | 'enrollment_id'
  | 'attempt_number'
  | 'status'
  | 'started_at'
  | 'deadline'
  | 'submitted_at'
  | 'graded_at'
  | 'score'
  | 'max_score'
  | 'percentage'
  | 'is_passed'
  | 'auto_submitted'
> & { student_id: string; student_name: string };

/** A page of the quiz's attempts, newest first, and their total; `enrollmentId` narrows to one student's. */
export async function attemptSummaryPage(
  db: SqlRunner,
  quizId: string,
  enrollmentId: string | null,
  page: { limit: number; offset: number },
): Promise<{ rows: AttemptSummaryRow[]; total: number }> {
  const where = enrollmentId === null ? 'a.quiz_id = ?' : 'a.quiz_id = ? AND a.enrollment_id = ?';
  const params = enrollmentId === null ? [quizId] : [quizId, enrollmentId];
  const [rows, [count]] = await Promise.all([
    db.execute<AttemptSummaryRow[]>(
      `SELECT a.*, e.student_id, u.full_name AS student_name
         FROM quiz_attempts a JOIN enrollments e ON e.id = a.enrollment_id JOIN users u ON u.id = e.student_id
        WHERE ${where} ORDER BY a.started_at DESC, a.id LIMIT ? OFFSET ?`,
      [...params, page.limit, page.offset],
    ),
    db.execute<Array<{ total: number }>>(`SELECT count(*)::int AS total FROM quiz_attempts a WHERE ${where}`, params),
  ]);
  return { rows, total: count.total };
}

/** What statistics read of a graded attempt: its per-question results and its grade. */
export interface GradedResultRow<R> {
  results: { questions: R[] } | null;
  percentage: string;
  is_passed: boolean;
}

/** The results of the quiz's graded attempts. */
export async function gradedResults<R>(db: SqlRunner, quizId: string): Promise<Array<GradedResultRow<R>>> {
  return db.execute<Array<GradedResultRow<R>>>(`SELECT results, percentage, is_passed FROM quiz_attempts WHERE quiz_id = ? AND status = 'graded'`, [quizId]);
}
