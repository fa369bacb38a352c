import type { IQuizOverride } from '../../../entities/index.js';
import type { SqlRunner } from '../../platform/db/sql.js';
import type { RowOf } from '../../platform/db/rows.js';

// The overrides component's SQL: `quiz_overrides` is read where attempts start and launches
// create attempts, so it is written here in SQL too (one upsert decides a race between two PUTs).

export type OverrideRow = RowOf<IQuizOverride>;

/** The override with its student's name (for the list). */
export type OverrideListRow = OverrideRow & { student_name: string };

/** The student's override, locked until the end of the transaction (null when there is none). */
export async function lockOverride(tx: SqlRunner, quizId: string, studentId: string): Promise<OverrideRow | null> {
  const [row] = await tx.execute<OverrideRow[]>('SELECT * FROM quiz_overrides WHERE quiz_id = ? AND student_id = ? FOR UPDATE', [quizId, studentId]);
  return row ?? null;
}

/** Sets a student's override (one upsert: the primary key settles two first PUTs racing). */
export async function upsertOverride(
  tx: SqlRunner,
  override: { quizId: string; studentId: string; extraAttempts: number; extraTimeSeconds: number },
): Promise<OverrideRow> {
  const [row] = await tx.execute<OverrideRow[]>(
    `INSERT INTO quiz_overrides (quiz_id, student_id, extra_attempts, extra_time_seconds)
     VALUES (?, ?, ?, ?)
     ON CONFLICT (quiz_id, student_id) DO UPDATE
        SET extra_attempts = excluded.extra_attempts, extra_time_seconds = excluded.extra_time_seconds, updated_at = now()
     RETURNING *`,
    [override.quizId, override.studentId, override.extraAttempts, override.extraTimeSeconds],
  );
  return row;
}

/** Deletes a student's override; false when there was none. */
export async function deleteOverrideRow(db: SqlRunner, quizId: string, studentId: string): Promise<boolean> {
  const deleted = await db.execute<Array<{ quiz_id: string }>>('DELETE FROM quiz_overrides WHERE quiz_id = ? AND student_id = ? RETURNING quiz_id', [
    quizId,
    studentId,
  ]);
  return deleted.length > 0;
}

/** The quiz's overrides with their students' names, by name. */
export async function overrideRows(db: SqlRunner, quizId: string): Promise<OverrideListRow[]> {
  return db.execute<OverrideListRow[]>(
    `SELECT o.*, u.full_name AS student_name FROM quiz_overrides o JOIN users u ON u.id = o.student_id
      WHERE o.quiz_id = ? ORDER BY u.full_name, o.student_id`,
    [quizId],
  );
}

/** What deciding whether a student has seen the quiz's answer key needs: its finished and graded attempts. */
export async function attemptsUsed(db: SqlRunner, quizId: string, studentIds: string[]): Promise<Map<string, { finished: number; graded: number }>> {
  if (studentIds.length === 0) return new Map();
  const rows = await db.execute<Array<{ student_id: string; finished: number; graded: number }>>(
    `SELECT e.student_id,
            count(*) FILTER (WHERE a.status <> 'in_progress')::int AS finished,
            count(*) FILTER (WHERE a.status = 'graded')::int AS graded
       FROM quiz_attempts a JOIN enrollments e ON e.id = a.enrollment_id
      WHERE a.quiz_id = ? AND e.student_id IN (${studentIds.map(() => '?').join(', ')})
      GROUP BY e.student_id`,
    [quizId, ...studentIds],
  );
  return new Map(rows.map((row) => [row.student_id, { finished: row.finished, graded: row.graded }]));
}

/** The running attempt of a student at a quiz, if any. */
export async function runningAttemptId(db: SqlRunner, quizId: string, studentId: string): Promise<string | null> {
  const [row] = await db.execute<Array<{ id: string }>>(
    `SELECT a.id FROM quiz_attempts a JOIN enrollments e ON e.id = a.enrollment_id
      WHERE a.quiz_id = ? AND e.student_id = ? AND a.status = 'in_progress'`,
    [quizId, studentId],
  );
  return row?.id ?? null;
}

/** The student's enrollment status in a course (null when not enrolled). */
export async function enrollmentStatusOf(db: SqlRunner, courseId: string, studentId: string): Promise<string | null> {
  const [row] = await db.execute<Array<{ status: string }>>('SELECT status FROM enrollments WHERE course_id = ? AND student_id = ?', [courseId, studentId]);
  return row?.status ?? null;
}
