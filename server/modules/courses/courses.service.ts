import type { EntityManager } from '@mikro-orm/postgresql';
import { LockMode } from '@mikro-orm/core';
import { Course, Enrollment, type DifficultyLevel, type IEnrollment } from '../../../entities/index.js';
import type { AuthUser } from '../auth/auth-user.js';
import type { ServiceDeps } from '../deps.js';
import { buildTree } from '../../domain/lesson-tree.js';
import { isUuidLike } from '../../domain/slug.js';
import { assertUsableSlug, insertWithUniqueSlug, isSlugViolation } from '../../platform/db/unique-slug.js';
import { conflict, forbidden, notFound, unauthorized } from '../../platform/errors.js';
import { decimal, iso, toIso } from '../../platform/schemas.js';
import type { CourseJson } from '../learning.schemas.js';
import { assertVisible, grantsAccess, isManagerOf, requireCourseManager } from './courses.access.js';
import { hasLiveSession } from '../live-sessions/sessions.service.js';
import {
  countCourseEnrollments,
  courseRow,
  courseRows,
  deleteCourseRow,
  insertCourse,
  lessonStatuses,
  outlineRows,
  type CourseRow,
} from './courses.queries.js';
import { pageOf, pageWindow } from '../../platform/paging.js';

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
  const key = idOrSlug.toLowerCase();
  return courseRow(em, isUuidLike(idOrSlug) ? { id: key } : { slug: key });
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

export async function listCourses(deps: Pick<ServiceDeps, 'em'>, user: AuthUser | null, query: CourseListQuery) {
  const { em } = deps;
  let instructorId: string | undefined;
  if (query.mine) {
    if (!user) throw unauthorized('mine=true needs a signed-in instructor');
    if (user.role === 'student') throw forbidden('mine=true is for instructors and admins');
    instructorId = user.id;
  }
  const { rows, total } = await courseRows(em, { instructorId, category: query.category, difficulty: query.difficulty, q: query.q }, pageWindow(query));
  return pageOf(rows.map(courseRowToJson), total, query);
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
  assertVisible(row.is_published, isManager, 'Course');
  const enrollment = user ? await em.findOne(Enrollment, { student: user.id, course: row.id }) : null;
  const isEnrollee = grantsAccess(enrollment?.status);

  const [lessons, progress] = await Promise.all([outlineRows(em, row.id), enrollment ? lessonStatuses(em, enrollment.id) : Promise.resolve([])]);
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
        ? {
            progress: own
              ? { status: own.status, completionPercentage: decimal(own.completion_percentage) ?? 0 }
              : { status: 'not_started' as const, completionPercentage: 0 },
          }
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
    insert: (slug) =>
      insertCourse(em, {
        title: input.title,
        slug,
        description: input.description ?? null,
        instructorId: user.id,
        category: input.category ?? null,
        difficultyLevel: input.difficultyLevel ?? null,
        isPublished: input.isPublished ?? false,
        thumbnailUrl: input.thumbnailUrl ?? null,
        estimatedDurationMinutes: input.estimatedDurationMinutes ?? null,
        metadata: input.metadata ?? {},
      }),
  });
  return courseJsonById(em, id);
}

/** Unpublishing is reported to the publisher once committed (students' live sockets leave the rooms). */
export async function updateCourse(deps: Pick<ServiceDeps, 'em' | 'publisher'>, user: AuthUser, courseId: string, input: CourseInput): Promise<CourseJson> {
  const { em } = deps;
  const { course } = await requireCourseManager(em, courseId, user);
  if (input.slug !== undefined) assertUsableSlug(input.slug);
  const wasPublished = course.isPublished;
  try {
    if (wasPublished && input.isPublished === false) {
      // The course row is locked before looking for a live session: a start that read it first
      // (FOR SHARE) is waited for and then seen; a start after this waits and finds it a draft.
      await em.transactional(async (tx) => {
        const locked = await tx.findOneOrFail(Course, { id: courseId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
        if (await hasLiveSession(tx, courseId)) throw conflict('The course has a live session; end it before unpublishing');
        tx.assign(locked, input);
      });
    } else {
      em.assign(course, input);
      await em.flush();
    }
  } catch (error) {
    if (isSlugViolation(error)) throw conflict(`The slug "${input.slug}" is already taken`);
    throw error;
  }
  if (wasPublished && input.isPublished === false) deps.publisher.courseAccessRevoked({ courseId: course.id, nonManagers: true });
  return courseJsonById(em, course.id);
}

/** Deletes a course with its lessons, quizzes and questions; refused while it has enrollments. */
export async function deleteCourse(deps: Pick<ServiceDeps, 'em'>, user: AuthUser, courseId: string): Promise<void> {
  const { em } = deps;
  await requireCourseManager(em, courseId, user);
  const count = await countCourseEnrollments(em, courseId);
  if (count > 0) throw conflict(`The course has ${count} enrollment(s); unpublish it instead`);
  // An enrollment that slips in between is stopped by the foreign key (mapped to 409).
  await deleteCourseRow(em, courseId);
}
