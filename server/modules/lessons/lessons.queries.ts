import type { EntityManager } from '@mikro-orm/postgresql';
import type { ILesson, LessonType } from '../../../entities/index.js';
import type { RowOf } from '../../platform/db/rows.js';
import type { SqlRunner } from '../../platform/db/sql.js';

/** Where a lesson hangs in its course's tree. */
export type LessonParentRow = Pick<RowOf<ILesson>, 'id' | 'parent_lesson_id'>;

export interface NewLesson {
  courseId: string;
  title: string;
  slug: string;
  description: string | null;
  content: string | null;
  lessonType: LessonType;
  /** Null: after the last lesson under the same parent. */
  orderIndex: number | null;
  parentLessonId: string | null;
  durationMinutes: number | null;
  videoUrl: string | null;
  isPreview: boolean;
  metadata: Record<string, unknown>;
}

/**
 * Inserts a lesson; without an order index it goes after its siblings, computed in the same
 * statement. A slug taken in the course fails with the unique violation (the caller picks another).
 */
export async function insertLesson(em: EntityManager, lesson: NewLesson): Promise<string> {
  const rows = await em.execute<Array<{ id: string }>>(
    `INSERT INTO lessons (course_id, title, slug, description, content, lesson_type, order_index, parent_lesson_id,
                          duration_minutes, video_url, is_preview, metadata)
     VALUES (?, ?, ?, ?, ?, ?,
             coalesce(?, (SELECT coalesce(max(order_index) + 1, 0) FROM lessons
                           WHERE course_id = ? AND parent_lesson_id IS NOT DISTINCT FROM ?::uuid)),
             ?, ?, ?, ?, ?)
     RETURNING id`,
    [
      lesson.courseId,
      lesson.title,
      lesson.slug,
      lesson.description,
      lesson.content,
      lesson.lessonType,
      lesson.orderIndex,
      lesson.courseId,
      lesson.parentLessonId,
      lesson.parentLessonId,
      lesson.durationMinutes,
      lesson.videoUrl,
      lesson.isPreview,
      JSON.stringify(lesson.metadata),
    ],
  );
  return rows[0].id;
}

/** Every lesson of a course with its parent; `forUpdate` (in a transaction) locks them. */
export async function lessonParents(db: SqlRunner, courseId: string, forUpdate = false): Promise<LessonParentRow[]> {
  return db.execute<LessonParentRow[]>(`SELECT id, parent_lesson_id FROM lessons WHERE course_id = ?${forUpdate ? ' FOR UPDATE' : ''}`, [courseId]);
}

/** In a transaction: locks a lesson, so that no progress is recorded on it until the transaction ends. */
export async function lockLesson(db: SqlRunner, lessonId: string): Promise<void> {
  await db.execute('SELECT id FROM lessons WHERE id = ? FOR UPDATE', [lessonId]);
}

/** How many progress rows and quiz attempts a lesson has. */
export async function lessonUsage(db: SqlRunner, lessonId: string): Promise<{ progress: number; attempts: number }> {
  const [usage] = await db.execute<Array<{ progress: number; attempts: number }>>(
    `SELECT (SELECT count(*)::int FROM lesson_progress WHERE lesson_id = ?) AS progress,
            (SELECT count(*)::int FROM quiz_attempts a JOIN quizzes q ON q.id = a.quiz_id WHERE q.lesson_id = ?) AS attempts`,
    [lessonId, lessonId],
  );
  return usage;
}

/** Deletes a lesson (its quiz and questions cascade); its children move up to `newParentId`. */
export async function deleteLessonRow(db: SqlRunner, lessonId: string, newParentId: string | null): Promise<void> {
  await db.execute('UPDATE lessons SET parent_lesson_id = ?, updated_at = now() WHERE parent_lesson_id = ?', [newParentId, lessonId]);
  await db.execute('DELETE FROM lessons WHERE id = ?', [lessonId]);
}

export async function moveLesson(db: SqlRunner, lessonId: string, parentLessonId: string | null, orderIndex: number): Promise<void> {
  await db.execute('UPDATE lessons SET parent_lesson_id = ?, order_index = ?, updated_at = now() WHERE id = ?', [parentLessonId, orderIndex, lessonId]);
}
