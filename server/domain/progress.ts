import type { EnrollmentStatus, LessonProgressStatus } from '../../entities/enums.js';
import { percentageHalfUp, roundHalfUp2 } from './numbers.js';

/** What a client may send about one lesson. */
export interface LessonProgressInput {
  status?: LessonProgressStatus;
  completionPercentage?: number;
  timeSpentSecondsDelta?: number;
  /** A UUID the client picks per write: the same key again (a retry) is applied once. */
  clientKey?: string;
}

/** True when a write reports something: a `clientKey` alone is no write. */
export function reportsProgress(input: LessonProgressInput): boolean {
  return input.status !== undefined || input.completionPercentage !== undefined || input.timeSpentSecondsDelta !== undefined;
}

/** The values one write asks for, before they are merged with what is stored. */
export interface LessonProgressWrite {
  status: LessonProgressStatus;
  completionPercentage: number;
  timeSpentSecondsDelta: number;
}

/**
 * Normalises a progress write: `completed` means 100 %, 100 % means completed, and anything
 * else that reports activity means `in_progress`. Merging with the stored row (completed is
 * sticky, completion never decreases, time only adds) happens in one SQL upsert, so concurrent
 * writes cannot lose each other's time.
 */
export function normalizeProgressWrite(input: LessonProgressInput): LessonProgressWrite {
  const delta = input.timeSpentSecondsDelta ?? 0;
  let completion = roundHalfUp2(input.completionPercentage ?? 0);
  let status: LessonProgressStatus = input.status ?? 'not_started';
  if (status === 'completed' || completion >= 100) {
    status = 'completed';
    completion = 100;
  } else if (status === 'not_started' && (completion > 0 || delta > 0)) {
    status = 'in_progress';
  }
  return { status, completionPercentage: completion, timeSpentSecondsDelta: delta };
}

export interface EnrollmentProgressState {
  status: EnrollmentStatus;
  completedAt: Date | null;
}

export interface LessonCounts {
  totalLessons: number;
  completedLessons: number;
  totalTimeSpentSeconds: number;
}

export interface EnrollmentProgress {
  progressPercentage: number;
  completedLessonsCount: number;
  totalLessonsCount: number;
  totalTimeSpentSeconds: number;
  status: EnrollmentStatus;
  completedAt: Date | null;
  /** True for the one recalculation that moves the enrollment to `completed` for the first time. */
  justCompleted: boolean;
}

/**
 * The seed's `calculate_progress`: completed lessons over all lessons of the course (parents
 * and children alike). Only an `active` enrollment becomes `completed`, and `completedAt` is
 * set once: a reactivated enrollment that completes again keeps its first date and is not
 * "just completed" a second time. A completed enrollment stays completed when lessons are
 * added later; its percentage follows the course.
 */
export function calculateEnrollmentProgress(state: EnrollmentProgressState, counts: LessonCounts, now: Date): EnrollmentProgress {
  const progressPercentage = percentageHalfUp(counts.completedLessons, counts.totalLessons);
  let status = state.status;
  let completedAt = state.completedAt;
  let justCompleted = false;
  if (counts.totalLessons > 0 && progressPercentage >= 100 && status === 'active') {
    status = 'completed';
    if (!completedAt) {
      completedAt = now;
      justCompleted = true;
    }
  }
  return {
    progressPercentage,
    completedLessonsCount: counts.completedLessons,
    totalLessonsCount: counts.totalLessons,
    totalTimeSpentSeconds: counts.totalTimeSpentSeconds,
    status,
    completedAt,
    justCompleted,
  };
}
