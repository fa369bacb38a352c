import { summarizeLaunch } from '../../domain/launch-summary.js';
import { sqlTransaction } from '../../platform/db/sql.js';
import type { ServiceDeps } from '../deps.js';
import { claimLaunchSummary, launchAttemptResults, launchCounts, launchQuestions, writeLaunchSummary } from './launches.queries.js';
import type { LaunchCounts } from './launches.schemas.js';

/** A launch's live counts (`session:launch-counts`, `GET /launches/:id`); null when there is no such launch. */
export async function readLaunchCounts(deps: Pick<ServiceDeps, 'em'>, launchId: string): Promise<LaunchCounts | null> {
  return launchCounts(deps.em, launchId);
}

/**
 * After an attempt of a launch finished (graded or abandoned, by anyone): once the launch's
 * window has ended and none of its attempts runs, the launch closes itself and is summarised,
 * and the instructors hear `session:launch-summary`. The conditional claim (`claimLaunchSummary`)
 * makes exactly one caller do it however many attempts finish at once, on whichever process.
 * Its own file, apart from `launches.service.ts`, because grading (the attempts service) calls it
 * and the launches service calls grading. True when this call summarised the launch.
 */
export async function settleLaunch(deps: Pick<ServiceDeps, 'em' | 'publisher'>, launchId: string): Promise<boolean> {
  const settled = await sqlTransaction(deps.em, async (tx) => {
    const claimed = await claimLaunchSummary(tx, launchId);
    if (!claimed) return null;
    const questions = await launchQuestions(tx, claimed.quiz_id);
    const summary = summarizeLaunch(
      await launchAttemptResults(tx, launchId),
      questions.map((question) => question.id),
    );
    await writeLaunchSummary(tx, launchId, summary);
    return { courseId: claimed.course_id, summary };
  });
  if (!settled) return false;
  const launch = { launchId, courseId: settled.courseId };
  // The window has ended by now; whoever saw it end may not have said so (a job Redis lost).
  await deps.publisher.launchWindowEnded(launch);
  deps.publisher.launchSummarized({ ...launch, summary: settled.summary });
  return true;
}
