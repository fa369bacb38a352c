import type { Publisher } from '../../server/modules/deps.js';

type Calls = { [M in keyof Publisher]: Array<Parameters<Publisher[M]>[0]> };

/**
 * A `Publisher` that records what services report, by method, and hands each call on to `next`
 * when given (the app's real publisher, so sockets still hear it).
 */
export function recordingPublisher(next?: Publisher): Publisher & { calls: Calls } {
  const calls = {
    lessonProgressRecorded: [],
    enrollmentProgressUpdated: [],
    attemptStarted: [],
    attemptOpen: [],
    answersSaved: [],
    attemptGraded: [],
    launchOpened: [],
    launchedAttemptsStarted: [],
    launchCountsChanged: [],
    launchWindowEnded: [],
    launchSummarized: [],
    attemptAbandoned: [],
    attemptsFinished: [],
    deadlinesChanged: [],
    certificateIssued: [],
    accountChanged: [],
    courseAccessRevoked: [],
    liveSessionStarted: [],
    liveSessionLessonChanged: [],
    liveSessionEnded: [],
    attemptRegraded: [],
    regradeProgressed: [],
    regradeFinished: [],
  } as unknown as Calls;
  const record = <M extends keyof Publisher>(method: M) =>
    ((...args: Parameters<Publisher[M]>) => {
      (calls[method] as unknown[]).push(args[0]);
      return (next?.[method] as ((...a: unknown[]) => unknown) | undefined)?.apply(next, args);
    }) as unknown as Publisher[M];
  return {
    calls,
    lessonProgressRecorded: record('lessonProgressRecorded'),
    enrollmentProgressUpdated: record('enrollmentProgressUpdated'),
    attemptStarted: record('attemptStarted'),
    attemptOpen: record('attemptOpen'),
    answersSaved: record('answersSaved'),
    attemptGraded: async (graded) => {
      calls.attemptGraded.push(graded);
      await next?.attemptGraded(graded);
    },
    launchOpened: record('launchOpened'),
    launchedAttemptsStarted: record('launchedAttemptsStarted'),
    launchCountsChanged: record('launchCountsChanged'),
    launchWindowEnded: async (launch) => {
      calls.launchWindowEnded.push(launch);
      await next?.launchWindowEnded(launch);
    },
    launchSummarized: record('launchSummarized'),
    attemptAbandoned: async (abandoned) => {
      calls.attemptAbandoned.push(abandoned);
      await next?.attemptAbandoned(abandoned);
    },
    attemptsFinished: async (finished) => {
      calls.attemptsFinished.push(finished);
      await next?.attemptsFinished(finished);
    },
    deadlinesChanged: record('deadlinesChanged'),
    certificateIssued: record('certificateIssued'),
    accountChanged: record('accountChanged'),
    courseAccessRevoked: record('courseAccessRevoked'),
    liveSessionStarted: record('liveSessionStarted'),
    liveSessionLessonChanged: record('liveSessionLessonChanged'),
    liveSessionEnded: record('liveSessionEnded'),
    attemptRegraded: record('attemptRegraded'),
    regradeProgressed: record('regradeProgressed'),
    regradeFinished: record('regradeFinished'),
  };
}
