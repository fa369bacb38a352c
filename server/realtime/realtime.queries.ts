import type { EntityManager } from '@mikro-orm/postgresql';
import type { AttemptOpen } from '../modules/deps.js';

/** The student's running timed attempts: they tick on the instance it just connected to. */
export async function openTimedAttempts(em: EntityManager, studentId: string): Promise<AttemptOpen[]> {
  const rows = await em.execute<Array<{ id: string; deadline: string }>>(
    `SELECT a.id, a.deadline FROM quiz_attempts a JOIN enrollments e ON e.id = a.enrollment_id
      WHERE e.student_id = ? AND a.status = 'in_progress' AND a.deadline IS NOT NULL`,
    [studentId],
  );
  return rows.map((row) => ({ attemptId: row.id, studentId, deadline: row.deadline }));
}
