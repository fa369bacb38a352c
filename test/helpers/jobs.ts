import type { Jobs } from '../../server/modules/deps.js';

export interface RecordingJobs extends Jobs {
  scheduled: Array<{ attemptId: string; runAt: Date }>;
  launches: Array<{ launchId: string; runAt: Date }>;
  rescheduled: Array<{ attemptId: string; runAt: Date }>;
  cancelled: string[];
  certificates: string[];
  courses: string[];
  requeued: string[];
}

/**
 * A `Jobs` port that records what would have been queued instead of queueing it, for
 * service-level tests. `courseQueued`: what `recalculateCourse` answers (false: the caller
 * recalculates itself); `requeue`: what `requeueCertificate` answers.
 */
export function recordingJobs(options: { courseQueued?: boolean; requeue?: 'queued' | 'pending' | 'unreachable' } = {}): RecordingJobs {
  const jobs: RecordingJobs = {
    scheduled: [],
    launches: [],
    rescheduled: [],
    cancelled: [],
    certificates: [],
    courses: [],
    requeued: [],
    async scheduleDeadline(attemptId, runAt) {
      jobs.scheduled.push({ attemptId, runAt });
    },
    async scheduleDeadlines(deadlines) {
      jobs.scheduled.push(...deadlines);
    },
    async scheduleLaunchDeadline(launchId, runAt) {
      jobs.launches.push({ launchId, runAt });
    },
    async rescheduleDeadline(attemptId, runAt) {
      jobs.rescheduled.push({ attemptId, runAt });
    },
    async cancelDeadline(attemptId) {
      jobs.cancelled.push(attemptId);
    },
    async issueCertificate(enrollmentId) {
      jobs.certificates.push(enrollmentId);
    },
    async recalculateCourse(courseId) {
      jobs.courses.push(courseId);
      return options.courseQueued ?? true;
    },
    async requeueCertificate(enrollmentId) {
      jobs.requeued.push(enrollmentId);
      return options.requeue ?? 'queued';
    },
  };
  return jobs;
}
