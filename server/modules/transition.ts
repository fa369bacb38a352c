// Temporary glue while the services move to `ServiceDeps` (docs/architecture.md); deleted once
// every module calls the publisher and the jobs port itself.
import type { ServiceDeps } from './deps.js';
import type { AttemptDeps, GradedAttempt, StartedAttempt } from './attempts/attempts.service.js';

export function attemptDepsOf(deps: Pick<ServiceDeps, 'config' | 'jobs'>): AttemptDeps {
  return {
    config: deps.config,
    scheduleDeadline: (attemptId, runAt) => deps.jobs.scheduleDeadline(attemptId, runAt),
    cancelDeadline: (attemptId) => deps.jobs.cancelDeadline(attemptId),
    jobs: deps.jobs,
  };
}

export async function announceGrade(deps: Pick<ServiceDeps, 'publisher'>, outcome: Pick<GradedAttempt, 'graded' | 'expired' | 'event'>): Promise<void> {
  if (!outcome.graded) return;
  await deps.publisher.attemptGraded({ ...outcome.event, expired: outcome.expired });
}

export async function announceGraded(deps: Pick<ServiceDeps, 'publisher'>, outcome: GradedAttempt): Promise<void> {
  await announceGrade(deps, outcome);
  if (outcome.graded && outcome.lessonProgress) deps.publisher.lessonProgressRecorded(outcome.lessonProgress);
}

export function announceStarted(deps: Pick<ServiceDeps, 'publisher'>, started: StartedAttempt): void {
  if (started.created) deps.publisher.attemptStarted(started.event);
  if (started.attempt.status === 'in_progress') deps.publisher.attemptOpen(started.event);
}
