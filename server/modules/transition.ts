// Temporary glue while the services move to `ServiceDeps` (docs/architecture.md); deleted once
// every module calls the publisher and the jobs port itself.
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Jobs } from './deps.js';
import { useProgressJobs } from './progress/progress-jobs.js';

/** Completions enqueue certificates, lesson changes course recalculations, through the jobs port. */
export function useTransitionalProgressJobs(orm: MikroORM, jobs: Jobs): () => void {
  return useProgressJobs(orm, {
    enrollmentCompleted: (enrollmentId) => jobs.issueCertificate(enrollmentId),
    async courseLessonsChanged(courseId) {
      if (!(await jobs.recalculateCourse(courseId))) throw new Error('course recalculation not queued');
    },
  });
}
