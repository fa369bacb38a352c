import type { Static } from 'typebox';
import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { AuthUser } from '../auth/auth-user.js';
import { buildQuestionOrder } from '../../domain/shuffle.js';
import { deadlineChangeError, timeLimitMs } from '../../domain/quiz-timing.js';
import { withIdempotency, type IdempotentReply } from '../../platform/db/idempotency.js';
import { sqlTransaction } from '../../platform/db/sql.js';
import { AppError, conflict, forbidden, notFound, validationError } from '../../platform/errors.js';
import { iso, decimal, toIso } from '../../platform/schemas.js';
import { toCsv } from '../../platform/csv.js';
import type { DeadlineChanged, ServiceDeps } from '../deps.js';
import { isManagerOf } from '../courses/courses.access.js';
import {
  deadlinesMoved,
  finishDueLaunchBatch,
  launchedAttemptsJson,
  type AttemptJson,
  startAttempt,
  studentAttemptsJson,
  type GradingDeps,
  type StartedAttempt,
} from '../attempts/attempts.service.js';
import { readLaunchCounts, settleLaunch } from './launch-settlement.service.js';
import {
  closeLaunchWindow,
  insertLaunch,
  quizRegrading,
  insertLaunchAttempts,
  joinableLaunch,
  launchQuestions,
  launchRow,
  launchStudents,
  launchTarget,
  launchWindow,
  nextLaunchAttemptDue,
  openLaunchOfSession,
  isLaunchStudent,
  shiftLaunchClose,
  shiftStudentOffset,
  type MovedAttemptRow,
  unsettledLaunches,
  type LaunchAttemptOutcome,
  type LaunchOrders,
  type LaunchRow,
} from './launches.queries.js';
import type { LaunchCreatedJson, LaunchExtendedJson, LaunchJson } from './launches.schemas.js';

/** The partial unique index of one open launch per session refused the insert (raw SQL errors come from the driver unwrapped). */
function isOpenLaunchConflict(error: unknown): boolean {
  if (error instanceof UniqueConstraintViolationException) return true;
  const { code, constraint } = (error ?? {}) as { code?: unknown; constraint?: unknown };
  return code === '23505' && constraint === 'quiz_launches_one_open_per_session_idx';
}

/** A late starter needs at least this much of the window to join a launch. */
export const MIN_JOIN_REMAINING_MS = 15_000;

/**
 * How many due attempts the launch job finishes per transaction: large enough that a close of
 * 10,000 is a few dozen statements, small enough that a batch's locks and JSON stay short.
 */
const FINISH_BATCH = 500;

/**
 * How many of those batches run at once. A batch is a transaction on PostgreSQL then its events on
 * this process: two at a time, one batch's statements run while the other's events go out. The
 * locking read skips rows another batch holds, and one launch gives a student one attempt, so two
 * batches never touch the same attempt or enrollment.
 */
const FINISH_CONCURRENCY = 2;

type Launch = Static<typeof LaunchJson>;
type LaunchCreated = Static<typeof LaunchCreatedJson>;

async function launchJson(deps: Pick<ServiceDeps, 'em' | 'clock'>, row: LaunchRow): Promise<Launch> {
  const counts = await readLaunchCounts(deps, row.id);
  return {
    id: row.id,
    sessionId: row.session_id,
    courseId: row.course_id,
    quizId: row.quiz_id,
    launchedBy: row.launched_by,
    opensAt: toIso(row.opens_at),
    closesAt: toIso(row.closes_at),
    closedAt: iso(row.closed_at),
    studentOffsets: row.student_offsets ?? {},
    counts: counts ?? { started: 0, running: 0, submitted: 0, graded: 0, abandoned: 0, answered: {} },
    summary: row.summarized_at ? row.summary : null,
    serverNow: deps.clock.now().toISOString(),
  };
}

/** The launch, for its course's owner or an admin (404 when there is none, 403 for anyone else). */
async function managedLaunch(deps: Pick<ServiceDeps, 'em'>, user: AuthUser, launchId: string): Promise<LaunchRow> {
  const row = await launchRow(deps.em, launchId);
  if (!row) throw notFound('Launch');
  if (!isManagerOf(user, row.instructor_id)) throw forbidden('Only the course owner or an admin manages its launches');
  return row;
}

/**
 * Each student's question (and option) order, fixed now as a self-paced start fixes it: one
 * order for everyone when the quiz shuffles nothing (a lecture's statement then carries one
 * order, not 10,000 copies of it: about 20 MB of JSON for 10 questions), else one per student.
 */
function ordersFor(
  studentIds: string[],
  questions: Array<{ id: string; options: Array<{ id: string }> | null }>,
  settings: { shuffleQuestions: boolean; shuffleOptions: boolean },
): LaunchOrders {
  if (!settings.shuffleQuestions && !settings.shuffleOptions) return { shared: buildQuestionOrder(questions, settings) };
  return { byStudent: Object.fromEntries(studentIds.map((id) => [id, buildQuestionOrder(questions, settings)])) };
}

/**
 * After a launch's attempts are committed: the deadline jobs of those whose personal deadline
 * runs past the shared close (the launch's own job finishes the others), and each student's
 * `quiz:started` with its attempt.
 */
async function announceStarted(
  deps: Pick<ServiceDeps, 'em' | 'clock' | 'config' | 'jobs' | 'publisher'>,
  launch: { launchId: string; quizId: string; courseId: string; closesAt: string },
  started: Array<Extract<LaunchAttemptOutcome, { kind: 'started' }>>,
  orders: LaunchOrders,
): Promise<AttemptJson[]> {
  if (started.length === 0) return [];
  const closesAt = new Date(launch.closesAt).getTime();
  await deps.jobs.scheduleDeadlines(
    started
      .filter((row) => new Date(row.deadline).getTime() > closesAt)
      .map((row) => ({ attemptId: row.attempt_id, runAt: new Date(new Date(row.deadline).getTime() + deps.config.quizGraceMs) })),
  );
  const orderOf = 'shared' in orders ? () => orders.shared : (studentId: string) => orders.byStudent[studentId] ?? [];
  const attempts = await launchedAttemptsJson(deps, launch, started, orderOf);
  deps.publisher.launchedAttemptsStarted({ launchId: launch.launchId, courseId: launch.courseId, attempts });
  return attempts;
}

/**
 * `POST /live-sessions/:id/launches`: opens one shared window of a quiz of the session's course
 * (published or not) and gives every student of the course online now an attempt in it, in one
 * statement (`insertLaunchAttempts`); the others are listed with why they were skipped. The
 * window is `durationSeconds` (default: the quiz's time limit) from now by the database clock.
 * One open launch per session: the partial unique index decides (409).
 */
export async function launchQuiz(
  deps: Pick<ServiceDeps, 'em' | 'clock' | 'config' | 'jobs' | 'publisher' | 'presence'>,
  user: AuthUser,
  sessionId: string,
  input: { quizId: string; durationSeconds?: number },
): Promise<LaunchCreated> {
  const target = await launchTarget(deps.em, sessionId, input.quizId);
  if (!target) throw notFound('Live session');
  if (!isManagerOf(user, target.instructor_id)) throw forbidden('Only the course owner or an admin launches quizzes');
  if (target.session_status !== 'live') throw conflict('This live session has ended');
  if (!target.quiz_id) throw notFound('Quiz in this course');
  const limitMs = timeLimitMs({ timeLimitSeconds: target.time_limit_seconds, timeLimitMinutes: target.time_limit_minutes });
  const durationSeconds = input.durationSeconds ?? (limitMs === null ? null : Math.ceil(limitMs / 1000));
  if (durationSeconds === null) throw validationError('durationSeconds is required: this quiz has no time limit', { field: 'durationSeconds' });
  const questions = await launchQuestions(deps.em, target.quiz_id);
  if (questions.length === 0) throw conflict('This quiz has no questions yet');

  const online = await deps.presence.online(target.course_id);
  const orders = ordersFor(online, questions, { shuffleQuestions: !!target.shuffle_questions, shuffleOptions: !!target.shuffle_options });
  const quizId = target.quiz_id;
  let created: { launch: Pick<LaunchRow, 'id' | 'closes_at'>; outcomes: LaunchAttemptOutcome[] };
  try {
    created = await sqlTransaction(deps.em, async (tx) => {
      if (await quizRegrading(tx, quizId)) throw conflict('A regrade of this quiz is running; launch it once the regrade has finished');
      const launch = await insertLaunch(tx, { sessionId, quizId, launchedBy: user.id, durationSeconds });
      return { launch, outcomes: await insertLaunchAttempts(tx, launch.id, online, orders) };
    });
  } catch (error) {
    if (isOpenLaunchConflict(error)) throw conflict('A launch is already open in this session; close it first');
    throw error;
  }

  const launchId = created.launch.id;
  const closesAt = toIso(created.launch.closes_at);
  await deps.jobs.scheduleLaunchDeadline(launchId, new Date(new Date(closesAt).getTime() + deps.config.quizGraceMs));
  // The reply's launch, read before the class's events take the event loop.
  const launch = await launchJson(deps, (await launchRow(deps.em, launchId))!);
  deps.publisher.launchOpened({ launchId, quizId, courseId: target.course_id, closesAt });
  const started = created.outcomes.filter((row): row is Extract<LaunchAttemptOutcome, { kind: 'started' }> => row.kind === 'started');
  await announceStarted(deps, { launchId, quizId, courseId: target.course_id, closesAt }, started, orders);

  return {
    launch,
    started: started.map((row) => ({ attemptId: row.attempt_id, studentId: row.student_id, deadline: toIso(row.deadline) })),
    skipped: created.outcomes
      .filter((row) => row.kind !== 'started')
      .map((row) => ({ studentId: row.student_id, reason: row.kind === 'skipped' ? row.reason : ('ATTEMPT_IN_PROGRESS' as const) })),
  };
}

/**
 * `POST /quizzes/:id/attempts`. While the quiz has an open launch in a live session of its
 * course, a student of the course joins that launch: an attempt in it with the window that is
 * left (never a fresh one), refused with 409 `QUIZ_TIME_EXPIRED` under 15 s; the attempt it
 * already has there is returned again while it runs. Otherwise (no launch, or a self-paced
 * attempt already running) it is a self-paced start (`startAttempt`), which refuses an
 * unpublished quiz: such a quiz is taken only through its launches.
 */
export async function startOrJoinAttempt(deps: GradingDeps & Pick<ServiceDeps, 'clock'>, user: AuthUser, quizId: string): Promise<StartedAttempt> {
  const launch = await joinableLaunch(deps.em, quizId, user.id);
  if (!launch) return startAttempt(deps, user, quizId);
  if (launch.attempt_id) {
    if (launch.attempt_status !== 'in_progress') throw conflict('Your attempt of this launch is finished');
    return { created: false, attempt: (await studentAttemptsJson(deps, [launch.attempt_id]))[0] };
  }
  if (launch.remaining_ms < MIN_JOIN_REMAINING_MS) throw new AppError('QUIZ_TIME_EXPIRED', 'Too little of this launch’s window is left to join it');
  const questions = await launchQuestions(deps.em, quizId);
  const orders = ordersFor([user.id], questions, { shuffleQuestions: launch.shuffle_questions, shuffleOptions: launch.shuffle_options });
  const [outcome] = await sqlTransaction(deps.em, (tx) => insertLaunchAttempts(tx, launch.launch_id, [user.id], orders));
  if (!outcome) throw forbidden('Only students of this course take its quizzes');
  if (outcome.kind === 'skipped' && outcome.reason === 'MAX_ATTEMPTS_REACHED') throw new AppError('MAX_ATTEMPTS_REACHED', 'No attempt of this quiz is left');
  // A running attempt (self-paced, or this launch's from a concurrent join) is returned as a start would.
  if (outcome.kind !== 'started') return startOrJoinRunning(deps, user, quizId, launch.launch_id);
  const [attempt] = await announceStarted(
    deps,
    { launchId: launch.launch_id, quizId, courseId: launch.course_id, closesAt: launch.closes_at },
    [outcome],
    orders,
  );
  return { created: true, attempt };
}

async function startOrJoinRunning(deps: GradingDeps, user: AuthUser, quizId: string, launchId: string): Promise<StartedAttempt> {
  const again = await joinableLaunch(deps.em, quizId, user.id);
  if (again?.launch_id === launchId && again.attempt_id) return { created: false, attempt: (await studentAttemptsJson(deps, [again.attempt_id]))[0] };
  return startAttempt(deps, user, quizId);
}

function deadlineChanged(row: MovedAttemptRow): DeadlineChanged {
  return {
    attemptId: row.id,
    quizId: row.quiz_id,
    studentId: row.student_id,
    courseId: row.course_id,
    deadline: toIso(row.deadline),
    submitUntil: toIso(row.submit_until),
  };
}

/**
 * Ends a launch's window now: `closesAt` and every running attempt's deadline become now
 * (database clock), the room hears `session:quiz-closed` and each student
 * `quiz:deadline-changed`. The launch's job, moved to the new close + grace, then finishes every
 * attempt by its overdue policy (answers in flight within the network grace still count, and a
 * `graceperiod` quiz still takes submits for its grace), and the last finish settles the launch.
 * The grace counts from the close the database wrote, as the job's own check does, not from when
 * the write committed: at 10,000 attempts the write takes most of a second.
 */
async function endLaunchWindow(deps: GradingDeps, launchId: string, courseId: string): Promise<void> {
  const { closes_at: closedAt, moved } = await sqlTransaction(deps.em, (tx) => closeLaunchWindow(tx, launchId));
  const closedAtMs = closedAt ? new Date(closedAt).getTime() : deps.clock.now().getTime();
  await deps.jobs.scheduleLaunchDeadline(launchId, new Date(closedAtMs + deps.config.quizGraceMs));
  await deps.publisher.launchWindowEnded({ launchId, courseId });
  if (moved.length > 0) deps.publisher.deadlinesChanged(moved.map(deadlineChanged));
  // Nothing was running: the launch settles at once.
  await settleLaunch(deps, launchId);
}

/** `POST /launches/:id/close` (owner, admin): the window ends now. Closing a closed launch changes nothing. */
export async function closeLaunch(deps: GradingDeps & Pick<ServiceDeps, 'clock'>, user: AuthUser, launchId: string): Promise<Launch> {
  const row = await managedLaunch(deps, user, launchId);
  if (!row.closed_at) await endLaunchWindow(deps, launchId, row.course_id);
  return launchJson(deps, (await launchRow(deps.em, launchId))!);
}

/**
 * For ending a live session (the caller checked who may): closes its open launch first, so no
 * attempt of it outlives the session. False when none was open.
 */
export async function closeOpenLaunchOfSession(deps: GradingDeps, sessionId: string): Promise<boolean> {
  const launchId = await openLaunchOfSession(deps.em, sessionId);
  if (!launchId) return false;
  const row = (await launchRow(deps.em, launchId))!;
  await endLaunchWindow(deps, launchId, row.course_id);
  return true;
}

/** What the launch's deadline job found: not due yet or attempts still running (`dueAt`, epoch ms: it re-delays itself), or what it did. */
export type LaunchDeadlineOutcome = { dueAt: number } | { finished: number; settled: boolean; status: 'missing' | 'done' };

/**
 * The launch's deadline job, at `closes_at` + grace: the room hears `session:quiz-closed`, every
 * attempt whose submit window (plus grace) has passed is finished by its overdue policy, in
 * batches, and the launch settles once nothing of it runs. While attempts with a later personal
 * deadline (extra time, an offset, a grace period) still run, it says when the next is due and is
 * re-delayed to then. Early (the window was extended, or clocks differ), it says when it is due.
 */
export async function finishLaunchWindow(deps: GradingDeps, launchId: string, batchSize = FINISH_BATCH): Promise<LaunchDeadlineOutcome> {
  const window = await launchWindow(deps.em, launchId, deps.config.quizGraceMs);
  if (!window) return { finished: 0, settled: false, status: 'missing' };
  if (window.summarized) return { finished: 0, settled: false, status: 'done' };
  if (!window.due_passed) return { dueAt: new Date(window.due).getTime() };
  await deps.publisher.launchWindowEnded({ launchId, courseId: window.course_id });
  let finished = 0;
  // Set-based batches (`finishDueLaunchBatch`): finishing attempt by attempt cost a dozen round
  // trips to PostgreSQL and Redis each, and a close of 2,000 took 17 s of which 9.5 s CPU. Each
  // runner stops once it finds nothing due that another does not hold: a batch short of
  // `batchSize` took every free due attempt (asking once more cost each runner a query at the end).
  const runner = async () => {
    for (;;) {
      const batch = await finishDueLaunchBatch(deps, launchId, batchSize);
      finished += batch.graded + batch.abandoned;
      if (batch.locked < batchSize) return;
    }
  };
  await Promise.all(Array.from({ length: FINISH_CONCURRENCY }, runner));
  const settled = await settleLaunch(deps, launchId);
  const next = settled ? null : await nextLaunchAttemptDue(deps.em, launchId, deps.config.quizGraceMs);
  if (next) return { dueAt: Math.max(new Date(next).getTime(), deps.clock.now().getTime()) };
  return { finished, settled, status: 'done' };
}

/** The sweep's part: launches whose window ended without their job running are finished and settled. */
export async function finishDueLaunches(deps: GradingDeps, limit = 100): Promise<number> {
  let settled = 0;
  for (const launchId of await unsettledLaunches(deps.em, deps.config.quizGraceMs, limit)) {
    const outcome = await finishLaunchWindow({ ...deps, em: deps.em.fork() }, launchId);
    if ('settled' in outcome && outcome.settled) settled++;
  }
  return settled;
}

/** `GET /launches/:id` (owner, admin): the launch with its live counts and, once settled, its summary. */
export async function getLaunch(deps: Pick<ServiceDeps, 'em' | 'clock'>, user: AuthUser, launchId: string): Promise<Launch> {
  return launchJson(deps, await managedLaunch(deps, user, launchId));
}

export const LAUNCH_CSV_HEADER = ['name', 'email', 'status', 'score', 'percentage', 'passed', 'submitted_at', 'extra_time_seconds'] as const;

/** `GET /launches/:id?format=csv` (owner, admin): one row per student with an attempt in the launch. */
export async function launchCsv(deps: Pick<ServiceDeps, 'em'>, user: AuthUser, launchId: string): Promise<string> {
  await managedLaunch(deps, user, launchId);
  const rows = await launchStudents(deps.em, launchId);
  return toCsv(
    LAUNCH_CSV_HEADER,
    rows.map((row) => [
      row.full_name,
      row.email,
      row.status,
      decimal(row.score),
      decimal(row.percentage),
      row.is_passed,
      iso(row.submitted_at),
      row.extra_seconds,
    ]),
  );
}

type LaunchExtended = Static<typeof LaunchExtendedJson>;

/**
 * `POST /launches/:id/extend {seconds, studentId?}` (owner, admin): moves the shared close (and
 * every running attempt whose deadline follows it), or one student's offset (and its running
 * attempt), by `seconds`, negative allowed, in one transaction by the database clock. 409
 * `DEADLINE_NOT_IN_FUTURE` when the result would not be after now, 409 `CONFLICT` once the launch
 * is closed. Each moved student and the instructors hear `quiz:deadline-changed`; the launch's
 * job (which re-delays itself to each later personal deadline) or the student's job moves with
 * it. With an `Idempotency-Key`, a retry replays the first reply instead of moving again.
 */
export async function extendLaunch(
  deps: Pick<ServiceDeps, 'em' | 'config' | 'clock' | 'publisher' | 'jobs'>,
  user: AuthUser,
  launchId: string,
  input: { seconds: number; studentId?: string },
  idempotencyKey?: string,
): Promise<IdempotentReply<LaunchExtended>> {
  const rangeError = deadlineChangeError(input.seconds);
  if (rangeError) throw validationError(rangeError);
  const row = await managedLaunch(deps, user, launchId);
  const { studentId } = input;
  if (studentId !== undefined && !(await isLaunchStudent(deps.em, launchId, studentId))) throw notFound('Student of this course');
  const extend = async (): Promise<{ statusCode: number; body: LaunchExtended }> => {
    if (row.closed_at) throw conflict('This launch is closed');
    const result = await sqlTransaction(deps.em, async (tx) =>
      studentId === undefined ? await shiftLaunchClose(tx, launchId, input.seconds) : await shiftStudentOffset(tx, launchId, studentId, input.seconds),
    );
    if (!result) {
      // Refused in the statement; say why. A negative move that lands in the past is the only `DEADLINE_NOT_IN_FUTURE`.
      const current = (await launchRow(deps.em, launchId))!;
      if (current.closed_at) throw conflict('This launch is closed');
      if (input.seconds < 0) throw new AppError('DEADLINE_NOT_IN_FUTURE', 'The new deadline would not be in the future');
      throw conflict(studentId === undefined ? "This launch's window has ended" : "This student's deadline has passed");
    }
    const moved = result.moved.map(deadlineChanged);
    if ('closes_at' in result) {
      await deps.jobs.scheduleLaunchDeadline(launchId, new Date(new Date(result.closes_at).getTime() + deps.config.quizGraceMs));
      if (moved.length > 0) deps.publisher.deadlinesChanged(moved);
    } else {
      await deadlinesMoved(deps, moved);
    }
    const current = (await launchRow(deps.em, launchId))!;
    return {
      statusCode: 200,
      body: {
        launchId,
        closesAt: toIso(current.closes_at),
        studentOffsets: current.student_offsets ?? {},
        moved: moved.map(({ attemptId, studentId: movedStudent, deadline, submitUntil }) => ({ attemptId, studentId: movedStudent, deadline, submitUntil })),
        serverNow: deps.clock.now().toISOString(),
      },
    };
  };
  if (idempotencyKey === undefined) return { ...(await extend()), replayed: false };
  return withIdempotency<LaunchExtended>(deps.em, { scope: `POST /launches/${launchId}/extend ${user.id}`, key: idempotencyKey }, extend);
}
