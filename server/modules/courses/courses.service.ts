import type { EntityManager } from '@mikro-orm/postgresql';
import { Course, Enrollment, type DifficultyLevel, type IEnrollment } from '../../../entities/index.js';
import type { AuthUser } from '../../plugins/auth.js';
import type { ServiceDeps } from '../deps.js';
import { buildTree } from '../../domain/lesson-tree.js';
import { isUuidLike } from '../../domain/slug.js';
import { assertUsableSlug, insertWithUniqueSlug, isSlugViolation } from '../../platform/db/unique-slug.js';
import { conflict, forbidden, notFound, unauthorized } from '../../platform/errors.js';
import { decimal, iso, toIso } from '../../platform/schemas.js';
import type { CourseJson } from '../learning.schemas.js';
import { ACCESS_GRANTING_STATUSES, isManagerOf, requireCourseManager } from './courses.access.js';

interface CourseRow {
  id: string;
  title: string;
  slug: string;
  description: string | null;
  category: string | null;
  difficulty_level: DifficultyLevel | null;
  is_published: boolean;
  thumbnail_url: string | null;
  estimated_duration_minutes: number | null;
  metadata: Record<string, unknown>;
  instructor_id: string;
  instructor_name: string;
  lesson_count: number;
  created_at: string;
  updated_at: string;
}

const COURSE_SELECT = `
  SELECT c.id, c.title, c.slug, c.description, c.category, c.difficulty_level, c.is_published,
         c.thumbnail_url, c.estimated_duration_minutes, c.metadata, c.instructor_id,
         u.full_name AS instructor_name, c.created_at, c.updated_at,
         (SELECT count(*)::int FROM lessons l WHERE l.course_id = c.id) AS lesson_count
  FROM courses c JOIN users u ON u.id = c.instructor_id`;

export function courseRowToJson(row: CourseRow): CourseJson {
  return {
    id: row.id,
    title: row.title,
    slug: row.slug,
    description: row.description,
    category: row.category,
    difficultyLevel: row.difficulty_level,
    isPublished: row.is_published,
    thumbnailUrl: row.thumbnail_url,
    estimatedDurationMinutes: row.estimated_duration_minutes,
    metadata: row.metadata ?? {},
    instructor: { id: row.instructor_id, fullName: row.instructor_name },
    lessonCount: row.lesson_count,
    createdAt: toIso(row.created_at),
    updatedAt: toIso(row.updated_at),
  };
}

async function findCourseRow(em: EntityManager, idOrSlug: string): Promise<CourseRow | null> {
  const column = isUuidLike(idOrSlug) ? 'c.id' : 'c.slug';
  const rows = await em.execute<CourseRow[]>(`${COURSE_SELECT} WHERE ${column} = ?`, [idOrSlug.toLowerCase()]);
  return rows[0] ?? null;
}

async function courseJsonById(em: EntityManager, id: string): Promise<CourseJson> {
  const row = await findCourseRow(em, id);
  if (!row) throw notFound('Course');
  return courseRowToJson(row);
}

export interface CourseListQuery {
  category?: string;
  difficulty?: DifficultyLevel;
  q?: string;
  mine?: boolean;
  page: number;
  limit: number;
}

/** Escapes LIKE wildcards so a search for `50%` means the characters, not a pattern. */
function likePattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (char) => `\\${char}`)}%`;
}

export async function listCourses(deps: Pick<ServiceDeps, 'em'>, user: AuthUser | null, query: CourseListQuery) {
  const { em } = deps;
  const where: string[] = [];
  const params: unknown[] = [];
  if (query.mine) {
    if (!user) throw unauthorized('mine=true needs a signed-in instructor');
    if (user.role === 'student') throw forbidden('mine=true is for instructors and admins');
    where.push('c.instructor_id = ?');
    params.push(user.id);
  } else {
    where.push('c.is_published = true');
  }
  if (query.category) {
    where.push('c.category = ?');
    params.push(query.category);
  }
  if (query.difficulty) {
    where.push('c.difficulty_level = ?');
    params.push(query.difficulty);
  }
  if (query.q) {
    where.push(`(c.title ILIKE ? ESCAPE '\\' OR c.description ILIKE ? ESCAPE '\\')`);
    params.push(likePattern(query.q), likePattern(query.q));
  }
  const whereSql = `WHERE ${where.join(' AND ')}`;
  const [rows, count] = await Promise.all([
    em.execute<CourseRow[]>(`${COURSE_SELECT} ${whereSql} ORDER BY c.created_at DESC, c.id LIMIT ? OFFSET ?`, [
      ...params,
      query.limit,
      (query.page - 1) * query.limit,
    ]),
    em.execute<Array<{ total: number }>>(`SELECT count(*)::int AS total FROM courses c ${whereSql}`, params),
  ]);
  return { items: rows.map(courseRowToJson), total: count[0]!.total, page: query.page, limit: query.limit };
}

interface OutlineRow {
  id: string;
  course_id: string;
  title: string;
  slug: string;
  description: string | null;
  content: string | null;
  lesson_type: 'video' | 'text' | 'quiz' | 'assignment';
  order_index: number;
  parent_lesson_id: string | null;
  duration_minutes: number | null;
  video_url: string | null;
  is_preview: boolean;
  quiz_id: string | null;
  quiz_published: boolean | null;
}

function enrollmentSummary(enrollment: IEnrollment) {
  return {
    id: enrollment.id,
    status: enrollment.status,
    progressPercentage: decimal(enrollment.progressPercentage) ?? 0,
    completedLessonsCount: enrollment.completedLessonsCount,
    totalLessonsCount: enrollment.totalLessonsCount,
    totalTimeSpentSeconds: enrollment.totalTimeSpentSeconds,
    completedAt: iso(enrollment.completedAt),
  };
}

/**
 * The course with its outline. `content` and `videoUrl` appear for preview lessons and for
 * those who may see everything (active/completed enrollees, the owner, admins); an enrolled
 * student's outline carries its own progress per lesson; quiz ids of unpublished quizzes are
 * shown to managers only.
 */
export async function getCourseDetail(deps: Pick<ServiceDeps, 'em'>, user: AuthUser | null, idOrSlug: string) {
  const { em } = deps;
  const row = await findCourseRow(em, idOrSlug);
  if (!row) throw notFound('Course');
  const isManager = isManagerOf(user, row.instructor_id);
  if (!row.is_published && !isManager) throw notFound('Course');
  const enrollment = user ? await em.findOne(Enrollment, { student: user.id, course: row.id }) : null;
  const isEnrollee = !!enrollment && (ACCESS_GRANTING_STATUSES as readonly string[]).includes(enrollment.status);

  const [lessons, progress] = await Promise.all([
    em.execute<OutlineRow[]>(
      `SELECT l.id, l.course_id, l.title, l.slug, l.description, l.content, l.lesson_type, l.order_index,
              l.parent_lesson_id, l.duration_minutes, l.video_url, l.is_preview,
              q.id AS quiz_id, q.is_published AS quiz_published
       FROM lessons l LEFT JOIN quizzes q ON q.lesson_id = l.id
       WHERE l.course_id = ?`,
      [row.id],
    ),
    enrollment
      ? em.execute<Array<{ lesson_id: string; status: 'not_started' | 'in_progress' | 'completed'; completion_percentage: string | number }>>(
          'SELECT lesson_id, status, completion_percentage FROM lesson_progress WHERE enrollment_id = ?',
          [enrollment.id],
        )
      : Promise.resolve([]),
  ]);
  const progressByLesson = new Map(progress.map((item) => [item.lesson_id, item]));

  const outline = lessons.map((lesson) => {
    const seesContent = isManager || isEnrollee || lesson.is_preview;
    const own = progressByLesson.get(lesson.id);
    return {
      id: lesson.id,
      courseId: lesson.course_id,
      title: lesson.title,
      slug: lesson.slug,
      description: lesson.description,
      lessonType: lesson.lesson_type,
      orderIndex: lesson.order_index,
      parentLessonId: lesson.parent_lesson_id,
      durationMinutes: lesson.duration_minutes,
      isPreview: lesson.is_preview,
      quizId: lesson.quiz_id && (lesson.quiz_published || isManager) ? lesson.quiz_id : null,
      ...(seesContent ? { content: lesson.content, videoUrl: lesson.video_url } : {}),
      ...(enrollment
        ? { progress: own ? { status: own.status, completionPercentage: decimal(own.completion_percentage) ?? 0 } : { status: 'not_started' as const, completionPercentage: 0 } }
        : {}),
    };
  });

  return {
    ...courseRowToJson(row),
    lessons: buildTree(outline),
    enrollment: enrollment ? enrollmentSummary(enrollment) : null,
  };
}

export interface CourseInput {
  title?: string;
  slug?: string;
  description?: string | null;
  category?: string | null;
  difficultyLevel?: DifficultyLevel | null;
  thumbnailUrl?: string | null;
  estimatedDurationMinutes?: number | null;
  metadata?: Record<string, unknown>;
  isPublished?: boolean;
}

export async function createCourse(deps: Pick<ServiceDeps, 'em'>, user: AuthUser, input: CourseInput & { title: string }): Promise<CourseJson> {
  const { em } = deps;
  const id = await insertWithUniqueSlug(em, {
    table: 'courses',
    explicit: input.slug,
    title: input.title,
    insert: async (slug) => {
      const rows = await em.execute<Array<{ id: string }>>(
        `INSERT INTO courses (title, slug, description, instructor_id, category, difficulty_level, is_published,
                              thumbnail_url, estimated_duration_minutes, metadata)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
        [
          input.title,
          slug,
          input.description ?? null,
          user.id,
          input.category ?? null,
          input.difficultyLevel ?? null,
          input.isPublished ?? false,
          input.thumbnailUrl ?? null,
          input.estimatedDurationMinutes ?? null,
          JSON.stringify(input.metadata ?? {}),
        ],
      );
      return rows[0]!.id;
    },
  });
  return courseJsonById(em, id);
}

/** Unpublishing is reported to the publisher once committed (students' live sockets leave the rooms). */
export async function updateCourse(deps: Pick<ServiceDeps, 'em' | 'publisher'>, user: AuthUser, courseId: string, input: CourseInput): Promise<CourseJson> {
  const { em } = deps;
  const { course } = await requireCourseManager(em, courseId, user);
  if (input.slug !== undefined) assertUsableSlug(input.slug);
  const wasPublished = course.isPublished;
  em.assign(course, input);
  try {
    await em.flush();
  } catch (error) {
    if (isSlugViolation(error)) throw conflict(`The slug "${input.slug}" is already taken`);
    throw error;
  }
  if (wasPublished && !course.isPublished) deps.publisher.courseAccessRevoked({ courseId: course.id, nonManagers: true });
  return courseJsonById(em, course.id);
}

/** Deletes a course with its lessons, quizzes and questions; refused while it has enrollments. */
export async function deleteCourse(deps: Pick<ServiceDeps, 'em'>, user: AuthUser, courseId: string): Promise<void> {
  const { em } = deps;
  await requireCourseManager(em, courseId, user);
  const [{ count }] = await em.execute<Array<{ count: number }>>('SELECT count(*)::int AS count FROM enrollments WHERE course_id = ?', [courseId]);
  if (count > 0) throw conflict(`The course has ${count} enrollment(s); unpublish it instead`);
  // An enrollment that slips in between is stopped by the foreign key (mapped to 409).
  await em.execute('DELETE FROM courses WHERE id = ?', [courseId]);
}
