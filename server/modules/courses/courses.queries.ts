import type { EntityManager } from '@mikro-orm/postgresql';
import type { DifficultyLevel, ICourse, ILesson, ILessonProgress } from '../../../entities/index.js';
import type { RowOf } from '../../platform/db/rows.js';

// Reading a course is a hot path (docs/data-access.md): one statement with its instructor's name
// and lesson count, rather than the ORM's hydration of three entities.

/** A course as the API shows it: its columns, its instructor's name, its number of lessons. */
export type CourseRow = Omit<RowOf<ICourse>, 'instructor_id'> & { instructor_id: string; instructor_name: string; lesson_count: number };

const COURSE_SELECT = `
  SELECT c.id, c.title, c.slug, c.description, c.category, c.difficulty_level, c.is_published,
         c.thumbnail_url, c.estimated_duration_minutes, c.metadata, c.instructor_id,
         u.full_name AS instructor_name, c.created_at, c.updated_at,
         (SELECT count(*)::int FROM lessons l WHERE l.course_id = c.id) AS lesson_count
  FROM courses c JOIN users u ON u.id = c.instructor_id`;

/** A course by its id or by its slug. */
export async function courseRow(em: EntityManager, key: { id: string } | { slug: string }): Promise<CourseRow | null> {
  const [column, value] = 'id' in key ? ['c.id', key.id] : ['c.slug', key.slug];
  const rows = await em.execute<CourseRow[]>(`${COURSE_SELECT} WHERE ${column} = ?`, [value]);
  return rows[0] ?? null;
}

export interface CourseFilter {
  /** One instructor's courses, drafts included; otherwise published courses only. */
  instructorId?: string;
  category?: string;
  difficulty?: DifficultyLevel;
  /** Words in the title or the description. */
  q?: string;
}

/** Escapes LIKE wildcards so a search for `50%` means the characters, not a pattern. */
function likePattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (char) => `\\${char}`)}%`;
}

/** A page of courses, newest first, and how many match. */
export async function courseRows(
  em: EntityManager,
  filter: CourseFilter,
  page: { limit: number; offset: number },
): Promise<{ rows: CourseRow[]; total: number }> {
  const where: string[] = [];
  const params: unknown[] = [];
  if (filter.instructorId !== undefined) {
    where.push('c.instructor_id = ?');
    params.push(filter.instructorId);
  } else {
    where.push('c.is_published = true');
  }
  if (filter.category) {
    where.push('c.category = ?');
    params.push(filter.category);
  }
  if (filter.difficulty) {
    where.push('c.difficulty_level = ?');
    params.push(filter.difficulty);
  }
  if (filter.q) {
    where.push(`(c.title ILIKE ? ESCAPE '\\' OR c.description ILIKE ? ESCAPE '\\')`);
    params.push(likePattern(filter.q), likePattern(filter.q));
  }
  const whereSql = `WHERE ${where.join(' AND ')}`;
  const [rows, count] = await Promise.all([
    em.execute<CourseRow[]>(`${COURSE_SELECT} ${whereSql} ORDER BY c.created_at DESC, c.id LIMIT ? OFFSET ?`, [...params, page.limit, page.offset]),
    em.execute<Array<{ total: number }>>(`SELECT count(*)::int AS total FROM courses c ${whereSql}`, params),
  ]);
  return { rows, total: count[0].total };
}

/** A lesson of the outline, with its quiz (if any) and whether that quiz is published. */
export type OutlineRow = Pick<
  RowOf<ILesson>,
  'id' | 'title' | 'slug' | 'description' | 'content' | 'lesson_type' | 'order_index' | 'parent_lesson_id' | 'duration_minutes' | 'video_url' | 'is_preview'
> & { course_id: string; quiz_id: string | null; quiz_published: boolean | null };

export async function outlineRows(em: EntityManager, courseId: string): Promise<OutlineRow[]> {
  return em.execute<OutlineRow[]>(
    `SELECT l.id, l.course_id, l.title, l.slug, l.description, l.content, l.lesson_type, l.order_index,
            l.parent_lesson_id, l.duration_minutes, l.video_url, l.is_preview,
            q.id AS quiz_id, q.is_published AS quiz_published
     FROM lessons l LEFT JOIN quizzes q ON q.lesson_id = l.id
     WHERE l.course_id = ?`,
    [courseId],
  );
}

export type LessonStatusRow = Pick<RowOf<ILessonProgress, 'completionPercentage'>, 'lesson_id' | 'status' | 'completion_percentage'>;

/** An enrollment's status on each lesson it has progress on. */
export async function lessonStatuses(em: EntityManager, enrollmentId: string): Promise<LessonStatusRow[]> {
  return em.execute<LessonStatusRow[]>('SELECT lesson_id, status, completion_percentage FROM lesson_progress WHERE enrollment_id = ?', [enrollmentId]);
}

export interface NewCourse {
  title: string;
  slug: string;
  description: string | null;
  instructorId: string;
  category: string | null;
  difficultyLevel: DifficultyLevel | null;
  isPublished: boolean;
  thumbnailUrl: string | null;
  estimatedDurationMinutes: number | null;
  metadata: Record<string, unknown>;
}

/** Inserts a course; a taken slug fails with the unique violation (the caller picks another). */
export async function insertCourse(em: EntityManager, course: NewCourse): Promise<string> {
  const rows = await em.execute<Array<{ id: string }>>(
    `INSERT INTO courses (title, slug, description, instructor_id, category, difficulty_level, is_published,
                          thumbnail_url, estimated_duration_minutes, metadata)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
    [
      course.title,
      course.slug,
      course.description,
      course.instructorId,
      course.category,
      course.difficultyLevel,
      course.isPublished,
      course.thumbnailUrl,
      course.estimatedDurationMinutes,
      JSON.stringify(course.metadata),
    ],
  );
  return rows[0].id;
}

export async function countCourseEnrollments(em: EntityManager, courseId: string): Promise<number> {
  const [{ count }] = await em.execute<Array<{ count: number }>>('SELECT count(*)::int AS count FROM enrollments WHERE course_id = ?', [courseId]);
  return count;
}

/** Deletes a course; its lessons, quizzes and questions go with it (ON DELETE CASCADE). */
export async function deleteCourseRow(em: EntityManager, courseId: string): Promise<void> {
  await em.execute('DELETE FROM courses WHERE id = ?', [courseId]);
}
