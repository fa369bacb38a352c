import type { MikroORM } from '@mikro-orm/postgresql';
import type { Redis } from 'ioredis';
import type {
  AttemptAbandoned,
  AttemptGraded,
  AttemptOpen,
  AttemptRegraded,
  AttemptStarted,
  CertificateIssued,
  CourseAccessRevoked,
  DeadlineChanged,
  EnrollmentProgress,
  LaunchedAttemptsStarted,
  LaunchOpened,
  LaunchRef,
  LessonProgressRecorded,
  LiveSessionChanged,
  LiveSessionLessonChanged,
  Publisher,
  RegradeFinished,
  RegradeProgress,
} from '../modules/deps.js';
import type { SessionLaunchSummaryPayload } from './contract.js';
import type { Logger } from '../platform/logger.js';
import { answerDistribution, attemptQuizAndCourse, attemptStatuses, openTimedAttempts } from './realtime.queries.js';
import { readLaunchCounts } from '../modules/live-sessions/launch-settlement.service.js';
import { rooms } from './contract.js';
import type { RealtimeEmitter } from './emitter.js';
import { KeyedThrottle } from './keyed-throttle.js';
import type { AttemptTick, LaunchTick, TimedAttempt } from './quiz-ticks.js';
import type { MovedAttemptDeadline } from './types.js';
import type { PresenceBatch } from './presence.js';

export interface RealtimePublisherDeps {
  emitter: RealtimeEmitter;
  orm: MikroORM;
  /** For the once-only `quiz:expired` marker, shared by every process on this Redis. */
  redis: Redis;
  redisPrefix: string;
  log: Logger;
  /** Cuts every live connection of a user, on every instance (deactivation, role change). */
  disconnectUser(userId: string): void;
  /** Takes users out of a course's rooms and presence on every instance. */
  revokeCourseAccess(revoked: CourseAccessRevoked): void;
  /**
   * Tells every other process that attempts' deadlines moved (through the adapter); this
   * instance's own ticks follow through `attemptDeadlinesMoved`.
   */
  broadcastDeadlinesMoved(moved: MovedAttemptDeadline[]): void;
  /** This instance's tick scheduler; absent in processes that serve no sockets (workers). */
  ticks?: { track(attempt: TimedAttempt): void; untrack(attemptId: string): void; isTracking(attemptId: string): boolean };
  /** Whether a user has a socket on this instance (only those get ticks from here). */
  hasLocalSockets?(userId: string): boolean;
  /** `quiz:answer-stats` at most once per this many ms per question. @defaultValue 250 */
  answerStatsIntervalMs?: number;
  /** `session:launch-counts` at most once per this many ms per launch. @defaultValue 250 */
  launchCountsIntervalMs?: number;
  /** `quiz:regrade-progress` at most once per this many ms per regrade. @defaultValue 250 */
  regradeProgressIntervalMs?: number;
}

/**
 * A batch of a course's presence changes (users' first connection there, their last, or an
 * instance's heartbeat running out): net changes since the previous batch, numbered.
 */
export type PresenceChange = PresenceBatch;

/** How long the `quiz:expired` marker of an attempt is kept: far beyond any deadline job or sweep. */
const EXPIRED_MARKER_TTL_MS = 24 * 3600_000;

/** Where a throttled key's parts are joined (ids are UUIDs, so `/` never occurs in them). */
const KEY_SEPARATOR = '/';

/**
 * Turns what services did into the contract's events (contract.ts), each emitted once, by the process where the change
 * happened: HTTP routes and socket handlers of an API instance, the deadline job and the sweep of a
 * worker. Services stay unaware of Socket.IO; this is the only place that knows who hears what.
 */
export class RealtimePublisher implements Publisher {
  private readonly answerStats: KeyedThrottle;
  private readonly launchCounts: KeyedThrottle;
  /** attemptId → its quiz, course and launch, which never change; bounded. */
  private readonly attemptCourses = new Map<string, { quizId: string; courseId: string; launchId: string | null }>();
  private readonly regradeProgress: KeyedThrottle;
  /** Deadlines the tick scheduler reached in this pass, announced together (`attemptReachedDeadline`). */
  private reachedDeadlines: { attempts: TimedAttempt[]; done: Promise<void> } | null = null;
  /** regradeId → its latest counters, sent by the throttle. */
  private readonly regradeCounters = new Map<string, RegradeProgress>();

  constructor(private readonly deps: RealtimePublisherDeps) {
    this.answerStats = new KeyedThrottle(
      deps.answerStatsIntervalMs ?? 250,
      (key) => this.emitAnswerStats(key),
      (error, key) => deps.log.error({ err: error, key }, 'quiz:answer-stats failed'),
    );
    this.launchCounts = new KeyedThrottle(
      deps.launchCountsIntervalMs ?? 250,
      (key) => this.emitLaunchCounts(key),
      (error, key) => deps.log.error({ err: error, key }, 'session:launch-counts failed'),
    );
    this.regradeProgress = new KeyedThrottle(
      deps.regradeProgressIntervalMs ?? 250,
      async (regradeId) => this.emitRegradeProgress(regradeId),
      (error, key) => deps.log.error({ err: error, key }, 'quiz:regrade-progress failed'),
    );
  }

  /** A student's lesson progress changed (HTTP, socket, or a quiz completing the lesson). */
  lessonProgressRecorded(result: LessonProgressRecorded): void {
    const { lessonProgress, enrollment } = result;
    const { emitter } = this.deps;
    emitter.emit(rooms.instructors(enrollment.courseId), 'lesson:progress', {
      courseId: enrollment.courseId,
      lessonId: lessonProgress.lessonId,
      studentId: enrollment.studentId,
      status: lessonProgress.status,
      completionPercentage: lessonProgress.completionPercentage,
    });
    this.enrollmentProgressUpdated(enrollment);
  }

  /** An enrollment's progress was recalculated (a lesson's progress, or a `progress` job). */
  enrollmentProgressUpdated(enrollment: EnrollmentProgress): void {
    this.deps.emitter.emit([rooms.user(enrollment.studentId), rooms.instructors(enrollment.courseId)], 'progress:updated', {
      enrollmentId: enrollment.enrollmentId,
      courseId: enrollment.courseId,
      studentId: enrollment.studentId,
      progressPercentage: enrollment.progressPercentage,
      completedLessonsCount: enrollment.completedLessonsCount,
      totalLessonsCount: enrollment.totalLessonsCount,
      status: enrollment.status,
    });
  }

  /** A new attempt: the student and the instructors hear of it; a timed one ticks where the student is connected. */
  attemptStarted(event: AttemptStarted): void {
    this.deps.emitter.emit([rooms.user(event.studentId), rooms.instructors(event.courseId)], 'quiz:started', {
      attemptId: event.attemptId,
      quizId: event.quizId,
      studentId: event.studentId,
      courseId: event.courseId,
      deadline: event.deadline,
    });
    this.attemptOpen(event);
  }

  /** A quiz was launched to the room: everyone in it hears of the window; the instructors get counts. */
  launchOpened(launch: LaunchOpened): void {
    this.deps.emitter.emit(rooms.course(launch.courseId), 'session:quiz-launched', {
      courseId: launch.courseId,
      launchId: launch.launchId,
      quizId: launch.quizId,
      closesAt: launch.closesAt,
    });
    this.launchCountsChanged(launch);
  }

  /**
   * Each launched student hears `quiz:started` with its whole attempt (no request follows, so a class
   * does not stampede the API) and its attempt ticks where it is connected; the instructors get the
   * throttled counts instead of one event per student.
   */
  launchedAttemptsStarted(started: LaunchedAttemptsStarted): void {
    for (const attempt of started.attempts) {
      this.deps.emitter.emit(rooms.user(attempt.studentId), 'quiz:started', {
        attemptId: attempt.id,
        quizId: attempt.quizId,
        studentId: attempt.studentId,
        courseId: started.courseId,
        deadline: attempt.deadline,
        launchId: started.launchId,
        attempt,
      });
      // Ticks with the launch: one tick for everyone on the same deadline (the shared close; a personal one apart).
      this.attemptOpen({ attemptId: attempt.id, studentId: attempt.studentId, deadline: attempt.deadline, launchId: started.launchId });
    }
    this.launchCountsChanged(started);
  }

  launchCountsChanged(launch: LaunchRef): void {
    this.launchCounts.request([launch.courseId, launch.launchId].join(KEY_SEPARATOR));
  }

  /**
   * `session:quiz-closed` exactly once per launch, whoever notices first (the close, the launch's
   * deadline job, the sweep): a Redis `SET NX` marker decides, as for `quiz:expired`.
   */
  async launchWindowEnded(launch: LaunchRef): Promise<void> {
    if (!(await this.firstTime(`${this.deps.redisPrefix}:realtime:launch-closed:${launch.launchId}`, { launchId: launch.launchId }))) return;
    this.deps.emitter.emit(rooms.course(launch.courseId), 'session:quiz-closed', { courseId: launch.courseId, launchId: launch.launchId });
  }

  launchSummarized(launch: LaunchRef & { summary: SessionLaunchSummaryPayload['summary'] }): void {
    this.launchCountsChanged(launch);
    this.deps.emitter.emit(rooms.instructors(launch.courseId), 'session:launch-summary', {
      courseId: launch.courseId,
      launchId: launch.launchId,
      summary: launch.summary,
    });
  }

  /** A running timed attempt the student looked at (`quiz:sync`, a new socket): tick it here if it is connected here. */
  attemptOpen(attempt: AttemptOpen): void {
    if (!attempt.deadline || !this.deps.ticks) return;
    if (this.deps.hasLocalSockets && !this.deps.hasLocalSockets(attempt.studentId)) return;
    this.deps.ticks.track({
      attemptId: attempt.attemptId,
      studentId: attempt.studentId,
      deadline: new Date(attempt.deadline),
      ...(attempt.launchId ? { launchId: attempt.launchId } : {}),
    });
  }

  /** A student opened a connection on this instance: its running timed attempts tick here (never throws). */
  studentConnected(studentId: string): void {
    openTimedAttempts(this.deps.orm.em.fork(), studentId)
      .then((open) => open.forEach((attempt) => this.attemptOpen(attempt)))
      .catch((error) => this.deps.log.error({ err: error, userId: studentId }, 'loading open attempts failed'));
  }

  /**
   * An attempt was graded now: by the student's submit, or by the deadline job or the sweep (then
   * `expired`, and the student hears `quiz:expired` first unless it already did).
   */
  async attemptGraded(event: AttemptGraded): Promise<void> {
    this.deps.ticks?.untrack(event.attemptId);
    if (event.launchId) this.launchCountsChanged({ launchId: event.launchId, courseId: event.courseId });
    if (event.expired) await this.announceExpiry(event.attemptId, event.studentId, event.submitUntil);
    this.emitGraded(event);
  }

  /**
   * The overdue policy finished an attempt without a grade: the student hears `quiz:expired`
   * (unless it did) then `quiz:abandoned`; the instructors hear `quiz:abandoned`.
   */
  async attemptAbandoned(event: AttemptAbandoned): Promise<void> {
    this.deps.ticks?.untrack(event.attemptId);
    if (event.launchId) this.launchCountsChanged({ launchId: event.launchId, courseId: event.courseId });
    await this.announceExpiry(event.attemptId, event.studentId, event.submitUntil);
    this.deps.emitter.emit([rooms.user(event.studentId), rooms.instructors(event.courseId)], 'quiz:abandoned', {
      attemptId: event.attemptId,
      quizId: event.quizId,
      studentId: event.studentId,
      courseId: event.courseId,
    });
  }

  /**
   * A batch the server finished (a launch's close): the once-only `quiz:expired` markers of the
   * whole batch in one Redis round trip (a `SET NX` each, pipelined) instead of one per attempt,
   * then per attempt what `attemptGraded` / `attemptAbandoned` emit, in the same order; the
   * launch's counts are asked once per launch.
   */
  async attemptsFinished(finished: { graded: AttemptGraded[]; abandoned: AttemptAbandoned[] }): Promise<void> {
    const all = [...finished.graded.filter((event) => event.expired), ...finished.abandoned];
    const first = await this.firstTimes(all.map((event) => event.attemptId));
    const launches = new Map<string, LaunchRef>();
    for (const event of [...finished.graded, ...finished.abandoned]) {
      this.deps.ticks?.untrack(event.attemptId);
      if (event.launchId) launches.set(event.launchId, { launchId: event.launchId, courseId: event.courseId });
    }
    for (const launch of launches.values()) this.launchCountsChanged(launch);
    const expire = (event: { attemptId: string; studentId: string; submitUntil: string | null }) => {
      if (first.has(event.attemptId))
        this.deps.emitter.emit(rooms.user(event.studentId), 'quiz:expired', { attemptId: event.attemptId, submitUntil: event.submitUntil });
    };
    for (const event of finished.graded) {
      if (event.expired) expire(event);
      this.emitGraded(event);
    }
    for (const event of finished.abandoned) {
      expire(event);
      this.deps.emitter.emit([rooms.user(event.studentId), rooms.instructors(event.courseId)], 'quiz:abandoned', {
        attemptId: event.attemptId,
        quizId: event.quizId,
        studentId: event.studentId,
        courseId: event.courseId,
      });
    }
  }

  /**
   * Deadlines moved: each student and its course's instructors hear `quiz:deadline-changed` at
   * once; the instances ticking those attempts (this one and, through the adapter, the others)
   * follow the new deadlines from their next tick. An attempt moved past a deadline already
   * announced may expire again: its `quiz:expired` marker is cleared.
   */
  deadlinesChanged(changes: DeadlineChanged[]): void {
    for (const change of changes) {
      this.deps.emitter.emit([rooms.user(change.studentId), rooms.instructors(change.courseId)], 'quiz:deadline-changed', {
        attemptId: change.attemptId,
        quizId: change.quizId,
        studentId: change.studentId,
        courseId: change.courseId,
        deadline: change.deadline,
        submitUntil: change.submitUntil,
      });
    }
    const moved = changes.map((change) => ({ attemptId: change.attemptId, studentId: change.studentId, deadline: change.deadline }));
    this.attemptDeadlinesMoved(moved);
    this.deps.broadcastDeadlinesMoved(moved);
    this.deps.redis
      .del(...changes.map((change) => this.expiredMarker(change.attemptId)))
      .catch((error: unknown) => this.deps.log.warn({ err: error }, 'quiz:expired markers not cleared'));
  }

  /** Deadlines moved (here or in another process): attempts ticking here, or of students connected here, follow them. */
  attemptDeadlinesMoved(moved: MovedAttemptDeadline[]): void {
    const { ticks } = this.deps;
    if (!ticks) return;
    for (const attempt of moved) {
      if (!ticks.isTracking(attempt.attemptId) && this.deps.hasLocalSockets && !this.deps.hasLocalSockets(attempt.studentId)) continue;
      ticks.track({ attemptId: attempt.attemptId, studentId: attempt.studentId, deadline: new Date(attempt.deadline) });
    }
  }

  /**
   * The tick scheduler saw a deadline pass: `quiz:expired`, if the attempt is still open. The
   * deadlines reached in one pass are looked up together (a launch's close moves every deadline
   * to now: one read and one round trip of markers for all of them, not a query each, which
   * emptied the pool under the close's own request). Resolves once the batch is announced.
   */
  attemptReachedDeadline(attempt: TimedAttempt): Promise<void> {
    if (!this.reachedDeadlines) {
      const batch = { attempts: [] as TimedAttempt[], done: Promise.resolve() };
      batch.done = new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
        this.reachedDeadlines = null;
        return this.announceReachedDeadlines(batch.attempts);
      });
      this.reachedDeadlines = batch;
    }
    this.reachedDeadlines.attempts.push(attempt);
    return this.reachedDeadlines.done;
  }

  private async announceReachedDeadlines(attempts: TimedAttempt[]): Promise<void> {
    const current = await attemptStatuses(
      this.deps.orm.em.fork(),
      attempts.map((attempt) => attempt.attemptId),
    );
    const open = attempts.filter((attempt) => current.get(attempt.attemptId)?.status === 'in_progress');
    const first = await this.firstTimes(open.map((attempt) => attempt.attemptId));
    for (const attempt of open) {
      if (first.has(attempt.attemptId))
        this.deps.emitter.emit(rooms.user(attempt.studentId), 'quiz:expired', {
          attemptId: attempt.attemptId,
          submitUntil: current.get(attempt.attemptId)!.submitUntil,
        });
    }
  }

  /** A due tick of a timed attempt ticking on this instance: volatile, to the student's connections here. */
  attemptTicked(tick: AttemptTick): void {
    this.deps.emitter.emit(rooms.user(tick.studentId), 'quiz:tick', { attemptId: tick.attemptId, remainingMs: tick.remainingMs }, { volatile: true });
  }

  /**
   * A due tick of a launch's deadline on this instance: ONE volatile `quiz:tick {launchId,
   * remainingMs}` to the rooms of the students here whose attempt of the launch has that deadline
   * (encoded once for all of them; Socket.IO sends each socket once), instead of one per attempt.
   */
  launchTicked(tick: LaunchTick): void {
    this.deps.emitter.emit(tick.studentIds.map(rooms.user), 'quiz:tick', { launchId: tick.launchId, remainingMs: tick.remainingMs }, { volatile: true });
  }

  /** `quiz:graded` to the student and the course's instructors: one payload for single grades and batches. */
  private emitGraded(event: AttemptGraded): void {
    this.deps.emitter.emit([rooms.user(event.studentId), rooms.instructors(event.courseId)], 'quiz:graded', {
      attemptId: event.attemptId,
      quizId: event.quizId,
      studentId: event.studentId,
      score: event.score,
      maxScore: event.maxScore,
      percentage: event.percentage,
      isPassed: event.isPassed,
    });
  }

  /** Who is online in a course changed: its instructors hear the batch (the presence paces them). */
  presenceChanged(change: PresenceChange): void {
    const { courseId, joined, left, onlineCount, seq } = change;
    this.deps.emitter.emit(rooms.instructors(courseId), 'presence:updated', { courseId, joined, left, onlineCount, seq });
  }

  /** Answers were saved to an attempt: refresh the answer statistics of those questions (never throws). */
  answersSaved(attemptId: string, questionIds: string[]): void {
    if (questionIds.length === 0) return;
    this.requestAnswerStats(attemptId, questionIds).catch((error) => this.deps.log.error({ err: error, attemptId }, 'quiz:answer-stats failed'));
  }

  private async requestAnswerStats(attemptId: string, questionIds: string[]): Promise<void> {
    let known = this.attemptCourses.get(attemptId);
    if (!known) {
      known = (await attemptQuizAndCourse(this.deps.orm.em.fork(), attemptId)) ?? undefined;
      if (!known) return;
      if (this.attemptCourses.size >= 10_000) this.attemptCourses.clear();
      this.attemptCourses.set(attemptId, known);
    }
    for (const questionId of questionIds) {
      this.answerStats.request([known.courseId, known.quizId, questionId, known.launchId ?? ''].join(KEY_SEPARATOR));
    }
    if (known.launchId) this.launchCountsChanged({ launchId: known.launchId, courseId: known.courseId });
  }

  /** The certificate worker issued a certificate. */
  certificateIssued(certificate: CertificateIssued): void {
    this.deps.emitter.emit(rooms.user(certificate.studentId), 'certificate:issued', {
      certificateNumber: certificate.certificateNumber,
      courseId: certificate.courseId,
      pdfUrl: certificate.pdfUrl,
    });
  }

  accountChanged(userId: string): void {
    this.deps.disconnectUser(userId);
  }

  courseAccessRevoked(revoked: CourseAccessRevoked): void {
    this.deps.revokeCourseAccess(revoked);
  }

  liveSessionStarted(started: LiveSessionChanged): void {
    this.deps.emitter.emit(rooms.course(started.courseId), 'session:started', { sessionId: started.sessionId, courseId: started.courseId });
  }

  liveSessionLessonChanged(changed: LiveSessionLessonChanged): void {
    this.deps.emitter.emit(rooms.course(changed.courseId), 'session:lesson', {
      sessionId: changed.sessionId,
      courseId: changed.courseId,
      lessonId: changed.lessonId,
    });
  }

  liveSessionEnded(ended: LiveSessionChanged): void {
    this.deps.emitter.emit(rooms.course(ended.courseId), 'session:ended', { sessionId: ended.sessionId, courseId: ended.courseId });
  }

  /** A regrade changed an attempt's result: its student hears it (instructors follow the counters). */
  attemptRegraded(event: AttemptRegraded): void {
    this.deps.emitter.emit(rooms.user(event.studentId), 'quiz:regraded', {
      attemptId: event.attemptId,
      quizId: event.quizId,
      courseId: event.courseId,
      studentId: event.studentId,
      score: event.score,
      maxScore: event.maxScore,
      percentage: event.percentage,
      isPassed: event.isPassed,
      previous: { score: event.previous.score, percentage: event.previous.percentage, isPassed: event.previous.isPassed },
    });
  }

  /** A regrade's counters moved: the instructors hear the latest, a few times a second at most. */
  regradeProgressed(progress: RegradeProgress): void {
    this.regradeCounters.set(progress.regradeId, progress);
    this.regradeProgress.request(progress.regradeId);
  }

  /** A regrade ended: its last counters (unless just sent), then the summary; nothing of it after. */
  regradeFinished(finished: RegradeFinished): void {
    const pending = this.regradeCounters.get(finished.regradeId);
    this.regradeProgress.forget(finished.regradeId);
    this.regradeCounters.delete(finished.regradeId);
    const counts = { regradeId: finished.regradeId, quizId: finished.quizId, total: finished.total, processed: finished.processed, changed: finished.changed };
    if (pending) this.deps.emitter.emit(rooms.instructors(finished.courseId), 'quiz:regrade-progress', { ...counts, courseId: finished.courseId });
    this.deps.emitter.emit(rooms.instructors(finished.courseId), 'quiz:regrade-summary', {
      ...counts,
      courseId: finished.courseId,
      keyVersion: finished.keyVersion,
      status: finished.status,
      error: finished.error,
    });
  }

  private emitRegradeProgress(regradeId: string): void {
    const progress = this.regradeCounters.get(regradeId);
    if (!progress) return;
    this.regradeCounters.delete(regradeId);
    this.deps.emitter.emit(rooms.instructors(progress.courseId), 'quiz:regrade-progress', {
      regradeId: progress.regradeId,
      quizId: progress.quizId,
      courseId: progress.courseId,
      total: progress.total,
      processed: progress.processed,
      changed: progress.changed,
    });
  }

  close(): void {
    this.answerStats.close();
    this.launchCounts.close();
    this.regradeProgress.close();
  }

  /**
   * `quiz:expired` exactly once per attempt, whoever notices first (the tick scheduler at the
   * deadline, the deadline job or the sweep when they grade): a Redis `SET NX` marker decides.
   * Without Redis it is sent anyway: a duplicate beats a missing notice.
   */
  private async announceExpiry(attemptId: string, studentId: string, submitUntil: string | null): Promise<void> {
    if (await this.firstTime(this.expiredMarker(attemptId), { attemptId }))
      this.deps.emitter.emit(rooms.user(studentId), 'quiz:expired', { attemptId, submitUntil });
  }

  /** Whether this process is the first to claim `marker` (a Redis `SET NX`); true without Redis: a duplicate beats a missing notice. */
  private async firstTime(key: string, context: Record<string, string>): Promise<boolean> {
    try {
      return (await this.deps.redis.set(key, '1', 'PX', EXPIRED_MARKER_TTL_MS, 'NX')) === 'OK';
    } catch (error) {
      this.deps.log.warn({ err: error, ...context }, 'once-only marker unavailable; sending anyway');
      return true;
    }
  }

  /** `firstTime` of many attempts' `quiz:expired` markers in one pipelined round trip: the ids this process claimed (all of them without Redis). */
  private async firstTimes(attemptIds: string[]): Promise<Set<string>> {
    if (attemptIds.length === 0) return new Set();
    try {
      const pipeline = this.deps.redis.pipeline();
      for (const attemptId of attemptIds) pipeline.set(this.expiredMarker(attemptId), '1', 'PX', EXPIRED_MARKER_TTL_MS, 'NX');
      const replies = (await pipeline.exec()) ?? [];
      return new Set(
        attemptIds.filter((_, i) => {
          const [error, reply] = replies[i] ?? [null, 'OK'];
          return error !== null || reply === 'OK';
        }),
      );
    } catch (error) {
      this.deps.log.warn({ err: error, count: attemptIds.length }, 'once-only markers unavailable; sending anyway');
      return new Set(attemptIds);
    }
  }

  private expiredMarker(attemptId: string): string {
    return `${this.deps.redisPrefix}:realtime:quiz-expired:${attemptId}`;
  }

  private async emitAnswerStats(key: string): Promise<void> {
    const [courseId, quizId, questionId, launchId] = key.split(KEY_SEPARATOR) as [string, string, string, string];
    const distribution = await answerDistribution(this.deps.orm.em.fork(), quizId, questionId, launchId || null);
    if (!distribution) return;
    this.deps.emitter.emit(rooms.instructors(courseId), 'quiz:answer-stats', { quizId, questionId, ...(launchId ? { launchId } : {}), distribution });
  }

  private async emitLaunchCounts(key: string): Promise<void> {
    const [courseId, launchId] = key.split(KEY_SEPARATOR) as [string, string];
    const counts = await readLaunchCounts({ em: this.deps.orm.em.fork() }, launchId);
    if (!counts) return;
    this.deps.emitter.emit(rooms.instructors(courseId), 'session:launch-counts', { courseId, launchId, counts });
  }
}
