import type { EntityManager } from '@mikro-orm/postgresql';
import { Lesson, LessonProgress, Quiz, type ILesson, type LessonType } from '../../../entities/index.js';
import type { AuthUser } from '../auth/auth-user.js';
import { findCycle } from '../../domain/lesson-tree.js';
import { assertUsableSlug, insertWithUniqueSlug, isSlugViolation } from '../../platform/db/unique-slug.js';
import { conflict, forbidden, notFound, validationError } from '../../platform/errors.js';
import { decimal } from '../../platform/schemas.js';
import type { LessonJson } from '../learning.schemas.js';
import type { ServiceDeps } from '../deps.js';
import { accessTo, requireCourseManager, type CourseAccess } from '../courses/courses.access.js';
import { getCourseDetail } from '../courses/courses.service.js';
import { courseLessonsChanged } from '../progress/progress.service.js';
import { deleteLessonRow, insertLesson, lessonParents, lessonUsage, lockLesson, moveLesson } from './lessons.queries.js';

export interface LessonInput {
  title?: string;
  slug?: string;
  description?: string | null;
  content?: string | null;
  lessonType?: LessonType;
  orderIndex?: number;
  parentLessonId?: string | null;
  durationMinutes?: number | null;
  videoUrl?: string | null;
  isPreview?: boolean;
  metadata?: Record<string, unknown>;
}

async function lessonJson(em: EntityManager, lesson: ILesson, access: CourseAccess): Promise<LessonJson> {
  const [quiz, progress] = await Promise.all([
    em.findOne(Quiz, { lesson: lesson.id }, { fields: ['id', 'isPublished'] }),
    access.enrollment ? em.findOne(LessonProgress, { enrollment: access.enrollment.id, lesson: lesson.id }) : null,
  ]);
  const seesContent = access.isManager || access.isEnrollee || lesson.isPreview;
  return {
    id: lesson.id,
    courseId: lesson.course.id,
    title: lesson.title,
    slug: lesson.slug,
    description: lesson.description ?? null,
    lessonType: lesson.lessonType,
    orderIndex: lesson.orderIndex,
    parentLessonId: lesson.parentLesson?.id ?? null,
    durationMinutes: lesson.durationMinutes ?? null,
    isPreview: lesson.isPreview,
    quizId: quiz && (quiz.isPublished || access.isManager) ? quiz.id : null,
    ...(seesContent ? { content: lesson.content ?? null, videoUrl: lesson.videoUrl ?? null } : {}),
    ...(access.enrollment
      ? { progress: { status: progress?.status ?? 'not_started', completionPercentage: decimal(progress?.completionPercentage) ?? 0 } }
      : {}),
    metadata: lesson.metadata ?? {},
    createdAt: lesson.createdAt.toISOString(),
    updatedAt: lesson.updatedAt.toISOString(),
  };
}

async function loadLesson(em: EntityManager, lessonId: string, user: AuthUser | null) {
  const lesson = await em.findOne(Lesson, { id: lessonId }, { populate: ['course'] });
  if (!lesson) throw notFound('Lesson');
  const access = await accessTo(em, lesson.course.$, user);
  return { lesson, access };
}

async function assertParentInCourse(em: EntityManager, courseId: string, parentLessonId: string): Promise<void> {
  const parent = await em.findOne(Lesson, { id: parentLessonId }, { fields: ['id', 'course'] });
  if (!parent || parent.course.id !== courseId) throw validationError('parentLessonId must be a lesson of the same course');
}

/** Adds a lesson; every enrollment of the course is recalculated (in the background when the queue takes it). */
export async function createLesson(
  deps: Pick<ServiceDeps, 'em' | 'jobs'>,
  user: AuthUser,
  courseId: string,
  input: LessonInput & { title: string },
): Promise<LessonJson> {
  const { em } = deps;
  const access = await requireCourseManager(em, courseId, user);
  if (input.parentLessonId) await assertParentInCourse(em, courseId, input.parentLessonId);
  const parent = input.parentLessonId ?? null;
  const id = await insertWithUniqueSlug(em, {
    table: 'lessons',
    scope: { column: 'course_id', value: courseId },
    explicit: input.slug,
    title: input.title,
    insert: (slug) =>
      insertLesson(em, {
        courseId,
        title: input.title,
        slug,
        description: input.description ?? null,
        content: input.content ?? null,
        lessonType: input.lessonType ?? 'text',
        orderIndex: input.orderIndex ?? null,
        parentLessonId: parent,
        durationMinutes: input.durationMinutes ?? null,
        videoUrl: input.videoUrl ?? null,
        isPreview: input.isPreview ?? false,
        metadata: input.metadata ?? {},
      }),
  });
  // Every enrollment's "completed / all lessons" just changed (recalculated through the queue).
  await courseLessonsChanged(deps, courseId);
  const lesson = await em.findOneOrFail(Lesson, { id });
  return lessonJson(em, lesson, access);
}

export async function getLesson(deps: Pick<ServiceDeps, 'em'>, user: AuthUser | null, lessonId: string): Promise<LessonJson> {
  const { em } = deps;
  const { lesson, access } = await loadLesson(em, lessonId, user);
  return lessonJson(em, lesson, access);
}

export async function updateLesson(deps: Pick<ServiceDeps, 'em'>, user: AuthUser, lessonId: string, input: LessonInput): Promise<LessonJson> {
  const { em } = deps;
  const { lesson, access } = await loadLesson(em, lessonId, user);
  if (!access.isManager) throw forbidden('Only the course owner or an admin may edit its lessons');
  const courseId = lesson.course.id;
  if (input.slug !== undefined) assertUsableSlug(input.slug);
  if (input.parentLessonId !== undefined && input.parentLessonId !== null) {
    if (input.parentLessonId === lesson.id) throw validationError('A lesson cannot be its own parent');
    await assertParentInCourse(em, courseId, input.parentLessonId);
    const siblings = await lessonParents(em, courseId);
    const proposed = siblings.map((row) => ({ id: row.id, parentLessonId: row.id === lesson.id ? input.parentLessonId! : row.parent_lesson_id }));
    if (findCycle(proposed).length > 0) throw validationError('parentLessonId would make the lesson its own ancestor');
  }
  const { parentLessonId, ...fields } = input;
  em.assign(lesson, fields);
  if (parentLessonId !== undefined) lesson.parentLesson = parentLessonId ? em.getReference(Lesson, parentLessonId, { wrapped: true }) : null;
  try {
    await em.flush();
  } catch (error) {
    if (isSlugViolation(error)) throw conflict(`The slug "${input.slug}" is already taken in this course`);
    throw error;
  }
  return lessonJson(em, lesson, access);
}

/**
 * Deletes a lesson (with its quiz and questions). Refused once a student has progress on it or
 * an attempt at its quiz: nothing a student earned is deleted. Its children move up to its parent.
 */
export async function deleteLesson(deps: Pick<ServiceDeps, 'em' | 'jobs'>, user: AuthUser, lessonId: string): Promise<void> {
  const { em } = deps;
  const { lesson, access } = await loadLesson(em, lessonId, user);
  if (!access.isManager) throw forbidden('Only the course owner or an admin may delete its lessons');
  const courseId = lesson.course.id;
  await em.transactional(async (tx) => {
    // Lock the lesson so that progress cannot be recorded between the check and the delete.
    await lockLesson(tx, lessonId);
    const usage = await lessonUsage(tx, lessonId);
    if (usage.progress > 0 || usage.attempts > 0) {
      throw conflict('Students have progress or quiz attempts on this lesson; it can no longer be deleted');
    }
    await deleteLessonRow(tx, lessonId, lesson.parentLesson?.id ?? null);
  });
  await courseLessonsChanged(deps, courseId);
}

export interface LessonOrderItem {
  id: string;
  parentLessonId: string | null;
  orderIndex: number;
}

/** Moves and reorders lessons of a course in one transaction: all of it applies, or none. */
export async function reorderLessons(deps: Pick<ServiceDeps, 'em'>, user: AuthUser, courseId: string, items: LessonOrderItem[]) {
  const { em } = deps;
  const { course } = await requireCourseManager(em, courseId, user);
  await em.transactional(async (tx) => {
    const rows = await lessonParents(tx, courseId, true);
    const parents = new Map(rows.map((row) => [row.id, row.parent_lesson_id]));
    const seen = new Set<string>();
    for (const [index, item] of items.entries()) {
      if (seen.has(item.id)) throw validationError(`items[${index}]: lesson ${item.id} is listed twice`);
      seen.add(item.id);
      if (!parents.has(item.id)) throw validationError(`items[${index}]: ${item.id} is not a lesson of this course`);
      if (item.parentLessonId !== null && !parents.has(item.parentLessonId)) {
        throw validationError(`items[${index}]: parent ${item.parentLessonId} is not a lesson of this course`);
      }
      parents.set(item.id, item.parentLessonId);
    }
    if (findCycle([...parents].map(([id, parentLessonId]) => ({ id, parentLessonId }))).length > 0) {
      throw validationError('The new order would make a lesson its own ancestor');
    }
    for (const item of items) {
      await moveLesson(tx, item.id, item.parentLessonId, item.orderIndex);
    }
  });
  return getCourseDetail(deps, user, course.id);
}
