import type { EntityManager } from '@mikro-orm/postgresql';
import type { EnrollmentStatus } from '../../entities/enums.js';
import type { Config } from '../config/config.js';
import type { PdfRenderer } from '../platform/pdf/pdf-renderer.js';
import type { Logger } from '../platform/logger.js';
import type { Jobs } from '../platform/queues/jobs.js';
import type { Storage } from '../platform/storage/storage.js';
import type { Static } from 'typebox';
import type { LessonProgressJson } from './learning.schemas.js';
import type { AttemptJson } from './attempts/attempts.schemas.js';
import type { LaunchSummaryJson } from './live-sessions/launches.schemas.js';

/**
 * What every service gets: one explicit dependencies object, built by the adapter that calls it
 * (a request, a client event, a job) with an EntityManager forked for that unit of work. Services
 * name the parts they use (`Pick<ServiceDeps, 'em' | 'publisher'>`), which is also what a test
 * must provide. Nothing here is Fastify, Socket.IO or BullMQ: those sit behind the ports below.
 */
export interface ServiceDeps {
  /** Forked for this request, client event or job alone. */
  em: EntityManager;
  config: Config;
  clock: Clock;
  log: Logger;
  /** Tells whoever listens (the realtime layer) what happened; never throws at the caller. */
  publisher: Publisher;
  /** Background work the flows start. */
  jobs: Jobs;
  /** Uploaded files and certificate PDFs. */
  storage: Storage;
  /** Certificate PDFs, rendered off the event loop. */
  pdf: Pick<PdfRenderer, 'render'>;
  /** Who is online in a course (the realtime layer's presence, shared across instances). */
  presence: OnlineUsers;
}

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

export interface OnlineUsers {
  online(courseId: string): Promise<string[]>;
}

// --- What services report (outcomes), and the port that turns them into events -------------

/** An enrollment's progress fields, as `progress:updated` and the HTTP routes carry them. */
export interface EnrollmentProgress {
  enrollmentId: string;
  courseId: string;
  studentId: string;
  status: EnrollmentStatus;
  progressPercentage: number;
  completedLessonsCount: number;
  totalLessonsCount: number;
  totalTimeSpentSeconds: number;
  completedAt: string | null;
}

/** A student's progress on a lesson changed, and its enrollment was recalculated with it. */
export interface LessonProgressRecorded {
  lessonProgress: LessonProgressJson;
  enrollment: EnrollmentProgress;
}

/** A new attempt (not one returned again because it was running). */
export interface AttemptStarted {
  attemptId: string;
  quizId: string;
  studentId: string;
  courseId: string;
  deadline: string | null;
}

/** A running attempt its student is looking at (a sync, a new connection): ticks where it is connected. */
export interface AttemptOpen {
  attemptId: string;
  studentId: string;
  deadline: string | null;
  /** Its launch: it ticks with the launch's other attempts of the same deadline (`quiz:tick {launchId}`). */
  launchId?: string;
}

/** An attempt graded now (never a replay of an earlier grade). */
export interface AttemptGraded {
  attemptId: string;
  quizId: string;
  studentId: string;
  courseId: string;
  score: number;
  maxScore: number;
  percentage: number;
  isPassed: boolean;
  /** Graded at its deadline by the server (the student hears `quiz:expired` first). */
  expired: boolean;
  /** The end of its submit window, as `quiz:expired` carries it. */
  submitUntil: string | null;
  /** The launch the attempt belongs to (its counts change). */
  launchId?: string | null;
}

/** A quiz launched to a course's room (`session:quiz-launched`). */
export interface LaunchOpened {
  launchId: string;
  quizId: string;
  courseId: string;
  closesAt: string;
}

/** Attempts a launch created (at launch, or a student joining it): each student gets its attempt object. */
export interface LaunchedAttemptsStarted {
  launchId: string;
  courseId: string;
  attempts: Array<Static<typeof AttemptJson>>;
}

/** A launch's shared window ended, or its summary was written once its last attempt finished. */
export interface LaunchRef {
  launchId: string;
  courseId: string;
}

/** An attempt its overdue policy (`graceperiod`, `autoabandon`) finished without a grade. */
export interface AttemptAbandoned {
  attemptId: string;
  quizId: string;
  studentId: string;
  courseId: string;
  /** The end of its submit window, as `quiz:expired` carries it. */
  submitUntil: string | null;
  /** The launch the attempt belongs to (its counts change). */
  launchId?: string | null;
}

/** A running attempt whose deadline (and submit window with it) moved. */
export interface DeadlineChanged {
  attemptId: string;
  quizId: string;
  studentId: string;
  courseId: string;
  deadline: string;
  submitUntil: string;
}

export interface CertificateIssued {
  certificateNumber: string;
  courseId: string;
  studentId: string;
  /** A signed link that opens the PDF without a token. */
  pdfUrl: string;
}

/** A live session changed (started, ended): everyone in the course's room hears it. */
export interface LiveSessionChanged {
  sessionId: string;
  courseId: string;
}

/** "Follow me": the lesson a live session points everyone to (null: none). */
export interface LiveSessionLessonChanged extends LiveSessionChanged {
  lessonId: string | null;
}

/** A regrade changed an attempt's result (committed): its student hears the new result and the previous one. */
export interface AttemptRegraded {
  attemptId: string;
  quizId: string;
  courseId: string;
  studentId: string;
  score: number;
  maxScore: number;
  percentage: number;
  isPassed: boolean;
  previous: { score: number; percentage: number; isPassed: boolean };
}

/** A regrade committed a batch: its counters as they are now. */
export interface RegradeProgress {
  regradeId: string;
  quizId: string;
  courseId: string;
  total: number;
  processed: number;
  changed: number;
}

/** A regrade ended: `done`, or `failed` (with why; asking again resumes it). */
export interface RegradeFinished extends RegradeProgress {
  keyVersion: number;
  status: 'done' | 'failed';
  error: string | null;
}

/** Who lost access to a course's rooms: students who dropped, or everyone but its managers. */
export type CourseAccessRevoked = { courseId: string; userIds: string[] } | { courseId: string; nonManagers: true };

/**
 * The one place outcomes become events (`server/realtime/publisher.ts` implements it, in API
 * instances and workers alike). Services call it after their writes commit; it decides who hears
 * what, and it never throws at the service (delivery problems are logged there).
 */
export interface Publisher {
  lessonProgressRecorded(recorded: LessonProgressRecorded): void;
  enrollmentProgressUpdated(progress: EnrollmentProgress): void;
  attemptStarted(started: AttemptStarted): void;
  attemptOpen(open: AttemptOpen): void;
  answersSaved(attemptId: string, questionIds: string[]): void;
  /** Resolves once `quiz:expired` (when due) and `quiz:graded` are handed over, in that order. */
  attemptGraded(graded: AttemptGraded): Promise<void>;
  launchOpened(launch: LaunchOpened): void;
  /** `quiz:started` with the attempt to each student; they tick; the instructors get counts instead. */
  launchedAttemptsStarted(started: LaunchedAttemptsStarted): void;
  /** Something a launch's counts show changed (throttled per launch). */
  launchCountsChanged(launch: LaunchRef): void;
  /** `session:quiz-closed`, once per launch whoever notices first (close, the launch job, the sweep). */
  launchWindowEnded(launch: LaunchRef): Promise<void>;
  /** `session:launch-summary` to the instructors (written once, by the one process that summarised it). */
  launchSummarized(launch: LaunchRef & { summary: Static<typeof LaunchSummaryJson> }): void;
  /** Resolves once `quiz:expired` (unless sent before) and `quiz:abandoned` are handed over, in that order. */
  attemptAbandoned(abandoned: AttemptAbandoned): Promise<void>;
  /**
   * A batch of attempts the server finished together (a launch's close): each as
   * `attemptGraded` (expired) or `attemptAbandoned` would announce it, with the once-only
   * `quiz:expired` markers claimed in one round trip and the launch's counts asked once.
   */
  attemptsFinished(finished: { graded: AttemptGraded[]; abandoned: AttemptAbandoned[] }): Promise<void>;
  /**
   * Deadlines moved (committed): `quiz:deadline-changed` to each student and the course's
   * instructors, and every instance ticking one of them follows the new deadline.
   */
  deadlinesChanged(changes: DeadlineChanged[]): void;
  certificateIssued(certificate: CertificateIssued): void;
  /** An account was deactivated or changed role: its live connections must authenticate again. */
  accountChanged(userId: string): void;
  courseAccessRevoked(revoked: CourseAccessRevoked): void;
  /** `session:started` to the course's room. */
  liveSessionStarted(started: LiveSessionChanged): void;
  /** `session:lesson` to the course's room. */
  liveSessionLessonChanged(changed: LiveSessionLessonChanged): void;
  /** `session:ended` to the course's room. */
  liveSessionEnded(ended: LiveSessionChanged): void;
  /** `quiz:regraded` to the student whose attempt's result a regrade changed. */
  attemptRegraded(regraded: AttemptRegraded): void;
  /** `quiz:regrade-progress` to the course's instructors, throttled per regrade (the last state is always sent). */
  regradeProgressed(progress: RegradeProgress): void;
  /** `quiz:regrade-summary` to the course's instructors, after the regrade's last progress. */
  regradeFinished(finished: RegradeFinished): void;
}

export type { Jobs, Logger };
