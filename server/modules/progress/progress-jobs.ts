import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';

/**
 * Background work that progress changes start, handed to the queues. The services that change
 * progress only hold an EntityManager, and the same services run in API routes, socket handlers
 * and jobs (of the API process or a worker process), so the queues are registered once per ORM
 * (`useProgressJobs`, by the queues plugin and the worker entry) and looked up from the
 * EntityManager: every path that completes an enrollment reaches the certificate queue through
 * `recalculateEnrollment`, the one place where completion happens.
 */
export interface ProgressJobs {
  /** An enrollment just completed: issue its certificate. Must not throw (the sweep repairs misses). */
  enrollmentCompleted(enrollmentId: string): Promise<void>;
  /** The course's lessons changed: recalculate its enrollments in the background. */
  courseLessonsChanged(courseId: string): Promise<void>;
}

/** Keyed by the ORM's configuration, which every fork of its EntityManager shares. */
const registry = new WeakMap<object, ProgressJobs>();

/** Registers the queues of `orm`'s process; returns the unregistration. */
export function useProgressJobs(orm: MikroORM, jobs: ProgressJobs): () => void {
  registry.set(orm.config, jobs);
  return () => {
    if (registry.get(orm.config) === jobs) registry.delete(orm.config);
  };
}

/** The jobs registered for this EntityManager's ORM, if any (scripts and unit tests have none). */
export function progressJobsFor(em: EntityManager): ProgressJobs | undefined {
  return registry.get(em.config);
}
