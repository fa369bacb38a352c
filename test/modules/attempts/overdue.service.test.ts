import t from '../../helpers/tap.js';
import { buildTestApp } from '../../helpers/app.js';
import { createUser } from '../../helpers/users.js';
import {
  finishOverdueAttempt,
  gradeAtDeadline,
  gradeOverdueAttempts,
  moveDeadlines,
  saveAnswer,
  startAttempt,
  submitAttempt,
} from '../../../server/modules/attempts/attempts.service.js';
import { asAuth, publishedQuiz, serviceDeps } from '../../helpers/quizzes.js';
import { updateQuiz, type QuizSettings } from '../../../server/modules/quizzes/quizzes.service.js';
import { DEADLINE_JOB_LEAD_MS, deadlineJobDelay, type QuizDeadlinePayload } from '../../../server/platform/queues/contract.js';
import { quizDeadlinesProcessor, type QuizDeadlineResult } from '../../../workers/quiz-deadlines.worker.js';
import { workerContextOf } from '../../../workers/in-process.js';
import { DelayedError, type Job } from 'bullmq';

// The overdue policies (SPEC §7) at their boundaries, with each of the three ways an attempt gets
// finished: the deadline job (`gradeAtDeadline`), the sweep (`gradeOverdueAttempts`) and a late
// submit. Deadlines are placed relative to the database clock, as the server computes them.

const GRACE_MS = 500;
const { app } = await buildTestApp(t, 'overdue-service', { QUIZ_GRACE_MS: String(GRACE_MS), SWEEP_INTERVAL_MS: '3600000' });
const owner = await createUser(app, 'instructor');
const db = () => app.orm.em.fork().getConnection();

/** Puts an attempt's deadline `ms` from the database's now (its submit window moves with it, as the server moves it). */
async function placeDeadline(attemptId: string, ms: number): Promise<void> {
  await db().execute(
    `UPDATE quiz_attempts SET deadline = now() + (? || ' milliseconds')::interval,
            submit_until = now() + (? || ' milliseconds')::interval
              + CASE WHEN overdue_handling = 'graceperiod' THEN make_interval(secs => grace_period_seconds) ELSE interval '0' END
      WHERE id = ?`,
    [String(ms), String(ms), attemptId],
  );
}

async function stored(attemptId: string) {
  const [row] = await db().execute<Array<{ status: string; score: string | null; auto_submitted: boolean; answers: Record<string, unknown> }>>(
    'SELECT status, score, auto_submitted, answers FROM quiz_attempts WHERE id = ?',
    [attemptId],
  );
  return row!;
}

/** A student with a running attempt of a fresh 10-minute quiz under `settings`, one answer (true/false, right) saved. */
async function running(settings: QuizSettings) {
  const student = await createUser(app, 'student');
  const { quiz, tf, mc } = await publishedQuiz(app, owner, [student], { timeLimitMinutes: 10, ...settings });
  const { attempt } = await startAttempt(serviceDeps(app).deps, asAuth(student), quiz.id);
  await saveAnswer(serviceDeps(app).deps, asAuth(student), attempt.id, tf.id, true);
  return { student, quiz, tf, mc, attempt };
}

t.test('a start copies the policy onto the attempt and schedules the job at the end of the submit window', async (t) => {
  const { quiz, attempt } = await running({ overdueHandling: 'graceperiod', gracePeriodSeconds: 90 });
  t.equal(attempt.overdueHandling, 'graceperiod');
  t.equal(Date.parse(attempt.submitUntil!) - Date.parse(attempt.deadline!), 90_000, 'submitUntil = deadline + grace period');
  const { deps } = serviceDeps(app);
  await updateQuiz(deps, asAuth(owner), quiz.id, { overdueHandling: 'autoabandon', gracePeriodSeconds: 0 });
  const [row] = await db().execute<Array<{ overdue_handling: string; grace_period_seconds: number }>>(
    'SELECT overdue_handling, grace_period_seconds FROM quiz_attempts WHERE id = ?',
    [attempt.id],
  );
  t.same(row, { overdue_handling: 'graceperiod', grace_period_seconds: 90 }, 'a later edit of the quiz leaves the running attempt alone');

  const other = await createUser(app, 'student');
  const plain = await publishedQuiz(app, owner, [other], { timeLimitMinutes: 1 });
  const starting = serviceDeps(app);
  const started = await startAttempt(starting.deps, asAuth(other), plain.quiz.id);
  t.equal(started.attempt.overdueHandling, 'autosubmit', 'the default');
  t.equal(started.attempt.submitUntil, started.attempt.deadline);
  t.equal(starting.jobs.scheduled[0]!.runAt.getTime(), Date.parse(started.attempt.deadline!) + GRACE_MS);
});

t.test('autosubmit: the deadline job waits for deadline + grace, then grades the saved answers', async (t) => {
  const { attempt } = await running({ overdueHandling: 'autosubmit' });
  await placeDeadline(attempt.id, -(GRACE_MS - 300));
  const early = serviceDeps(app);
  const notYet = await gradeAtDeadline(early.deps, attempt.id);
  t.ok('dueAt' in notYet, 'inside the network grace: not due');
  t.equal((await stored(attempt.id)).status, 'in_progress');
  t.same(early.publisher.log, []);

  await placeDeadline(attempt.id, -(GRACE_MS + 300));
  const due = serviceDeps(app);
  t.same(await gradeAtDeadline(due.deps, attempt.id), { graded: true, status: 'graded' });
  t.match(await stored(attempt.id), { status: 'graded', score: '1.00', auto_submitted: true });
  t.match(due.publisher.calls.attemptGraded[0], { attemptId: attempt.id, expired: true, submitUntil: String });
  t.same(due.publisher.calls.attemptAbandoned, []);
});

t.test(
  'deadline jobs are queued a little early; their processor waits in place for a due time just ahead, and goes back to Redis for a later one',
  async (t) => {
    const now = Date.now();
    t.equal(deadlineJobDelay(new Date(now + 10_000), now), 10_000 - DEADLINE_JOB_LEAD_MS, 'queued DEADLINE_JOB_LEAD_MS early');
    t.equal(deadlineJobDelay(new Date(now - 5_000), now), 0, 'never a negative delay');

    const { attempt } = await running({ overdueHandling: 'autosubmit' });
    const moved: number[] = [];
    const job = (attemptId: string) =>
      ({
        data: { attemptId },
        moveToDelayed: async (timestamp: number) => void moved.push(timestamp),
      }) as unknown as Job<QuizDeadlinePayload, QuizDeadlineResult>;
    const due = serviceDeps(app);
    const ctx = workerContextOf(app, { deps: () => due.deps });

    // Due 150 ms from now: the job that started early (as queued) finishes it when due, not 100 ms later.
    await placeDeadline(attempt.id, -GRACE_MS + 150);
    const started = Date.now();
    t.same(await quizDeadlinesProcessor.process(job(attempt.id), ctx, 'token'), { graded: true, status: 'graded' });
    t.ok(Date.now() - started >= 100, `it waited for the due time (${Date.now() - started} ms)`);
    t.same(moved, [], 'in place, without going back to Redis');
    t.match(await stored(attempt.id), { status: 'graded', auto_submitted: true });

    // Due in a minute (its deadline was moved later): back to Redis, queued early again.
    const later = await running({ overdueHandling: 'autosubmit' });
    await placeDeadline(later.attempt.id, 60_000);
    const dueAt = Date.now() + 60_000 + GRACE_MS;
    await t.rejects(quizDeadlinesProcessor.process(job(later.attempt.id), ctx, 'token'), DelayedError);
    t.equal(moved.length, 1);
    t.ok(Math.abs(moved[0]! - (dueAt - DEADLINE_JOB_LEAD_MS)) < 1000, 're-delayed to just before the new due time');
    t.equal((await stored(later.attempt.id)).status, 'in_progress');
  },
);

t.test('autoabandon: the deadline job abandons the attempt once deadline + grace passed; answers and a late submit then find it finished', async (t) => {
  const { student, attempt, mc } = await running({ overdueHandling: 'autoabandon' });
  await placeDeadline(attempt.id, -(GRACE_MS - 300));
  t.ok('dueAt' in (await gradeAtDeadline(serviceDeps(app).deps, attempt.id)), 'just before the end of the window: not due');

  await placeDeadline(attempt.id, -(GRACE_MS + 300));
  const due = serviceDeps(app);
  t.same(await gradeAtDeadline(due.deps, attempt.id), { graded: true, status: 'abandoned' });
  t.match(await stored(attempt.id), { status: 'abandoned', score: null, auto_submitted: true });
  t.same(due.publisher.log, ['attemptAbandoned']);
  t.match(due.publisher.calls.attemptAbandoned[0], { attemptId: attempt.id, studentId: student.id, courseId: String, quizId: String });
  t.same(due.jobs.cancelled, [attempt.id]);

  await t.rejects(saveAnswer(serviceDeps(app).deps, asAuth(student), attempt.id, mc.id, ['a']), { code: 'QUIZ_TIME_EXPIRED' });
  const late = serviceDeps(app);
  const finished = await submitAttempt(late.deps, asAuth(student), attempt.id, { [mc.id]: ['a'] });
  t.equal(finished.status, 'abandoned', 'a submit after the window answers with the finished attempt');
  t.notOk(finished.result, 'never graded');
  t.same(late.publisher.log, [], 'and reports nothing new');
  t.same(await gradeAtDeadline(serviceDeps(app).deps, attempt.id), { graded: false, status: 'abandoned' }, 'a second job finds it finished');
});

t.test('autoabandon: a submit inside deadline + grace still grades, with the answers it carries', async (t) => {
  const { student, attempt, mc } = await running({ overdueHandling: 'autoabandon' });
  await placeDeadline(attempt.id, -(GRACE_MS - 300));
  const graded = await submitAttempt(serviceDeps(app).deps, asAuth(student), attempt.id, { [mc.id]: ['a'] });
  t.equal(graded.status, 'graded');
  t.match(graded.result, { score: 4, autoSubmitted: false });
});

t.test('graceperiod: a submit inside the grace period is graded with the answers saved before the deadline only', async (t) => {
  const { student, attempt, mc, tf } = await running({ overdueHandling: 'graceperiod', gracePeriodSeconds: 30 });
  await placeDeadline(attempt.id, -(GRACE_MS + 1000));
  await t.rejects(
    saveAnswer(serviceDeps(app).deps, asAuth(student), attempt.id, mc.id, ['a']),
    { code: 'QUIZ_TIME_EXPIRED' },
    'answers stop at deadline + grace',
  );
  const job = serviceDeps(app);
  t.ok('dueAt' in (await gradeAtDeadline(job.deps, attempt.id)), 'the deadline job waits for the grace period');
  t.equal(await gradeOverdueAttempts(serviceDeps(app).deps), 0, 'so does the sweep');

  const submitting = serviceDeps(app);
  const graded = await submitAttempt(submitting.deps, asAuth(student), attempt.id, { [mc.id]: ['a'], [tf.id]: false });
  t.equal(graded.status, 'graded');
  t.match(graded.result, { score: 1, maxScore: 4, autoSubmitted: false }, "the late submit's answers are ignored; the saved one counts");
  t.same(graded.answers, { [tf.id]: true });
  t.same(submitting.publisher.log, ['attemptGraded', 'answersSaved']);
});

t.test('graceperiod: after the grace period the sweep abandons the attempt; a later submit gets it as it is', async (t) => {
  const { student, attempt } = await running({ overdueHandling: 'graceperiod', gracePeriodSeconds: 1 });
  await placeDeadline(attempt.id, -(1000 + GRACE_MS - 300));
  t.equal(await gradeOverdueAttempts(serviceDeps(app).deps), 0, 'just inside the grace period + network grace: left alone');
  await placeDeadline(attempt.id, -(1000 + GRACE_MS + 300));
  const sweep = serviceDeps(app);
  t.equal(await gradeOverdueAttempts(sweep.deps), 1, 'just after: finished');
  t.equal((await stored(attempt.id)).status, 'abandoned');
  t.same(sweep.publisher.log, ['attemptAbandoned']);
  const late = await submitAttempt(serviceDeps(app).deps, asAuth(student), attempt.id);
  t.equal(late.status, 'abandoned');
});

t.test('a submit is the one that finishes an attempt past its window when no job ran', async (t) => {
  const abandoning = await running({ overdueHandling: 'autoabandon' });
  await placeDeadline(abandoning.attempt.id, -(GRACE_MS + 300));
  const first = serviceDeps(app);
  t.equal((await submitAttempt(first.deps, asAuth(abandoning.student), abandoning.attempt.id)).status, 'abandoned');
  t.same(first.publisher.log, ['attemptAbandoned'], 'the submit finished it by the policy and reported it');

  const grading = await running({ overdueHandling: 'autosubmit' });
  await placeDeadline(grading.attempt.id, -(GRACE_MS + 300));
  const second = serviceDeps(app);
  const graded = await submitAttempt(second.deps, asAuth(grading.student), grading.attempt.id, { [grading.mc.id]: ['a'] });
  t.match(graded, { status: 'graded', result: { score: 1, autoSubmitted: true } }, 'autosubmit: the saved answers, as the job would');
  t.match(second.publisher.calls.attemptGraded[0], { expired: true });
});

t.test('finishing races: the job, the sweep and a submit together finish an attempt once', async (t) => {
  const { student, attempt } = await running({ overdueHandling: 'autoabandon' });
  await placeDeadline(attempt.id, -(GRACE_MS + 300));
  const racers = [serviceDeps(app), serviceDeps(app), serviceDeps(app), serviceDeps(app)];
  const outcomes = await Promise.all([
    finishOverdueAttempt(racers[0]!.deps, attempt.id),
    finishOverdueAttempt(racers[1]!.deps, attempt.id),
    gradeOverdueAttempts(racers[2]!.deps),
    submitAttempt(racers[3]!.deps, asAuth(student), attempt.id),
  ]);
  const reported = racers.flatMap((racer) => racer.publisher.calls.attemptAbandoned);
  t.equal(reported.length, 1, 'reported once');
  t.equal((outcomes[3] as { status: string }).status, 'abandoned');
});

t.test('a moved deadline: the job queued for the old one does nothing and says when the attempt is due now', async (t) => {
  const { attempt } = await running({ overdueHandling: 'autosubmit' });
  await placeDeadline(attempt.id, -(GRACE_MS + 300));
  const moving = serviceDeps(app);
  const [moved] = await moveDeadlines(moving.deps, [{ attemptId: attempt.id, seconds: 120 }]);
  t.ok(moved, 'moved');
  t.ok(Date.parse(moved!.deadline) > Date.now() + 100_000, 'by the database clock');
  t.equal(moved!.submitUntil, moved!.deadline);
  t.same(
    moving.jobs.rescheduled.map((job) => [job.attemptId, job.runAt.getTime()]),
    [[attempt.id, Date.parse(moved!.deadline) + GRACE_MS]],
  );
  t.same(moving.publisher.log, ['deadlinesChanged']);
  const outcome = await gradeAtDeadline(serviceDeps(app).deps, attempt.id);
  t.same(outcome, { dueAt: Date.parse(moved!.deadline) + GRACE_MS }, 'the old job re-delays itself to the new due time');
  t.equal((await stored(attempt.id)).status, 'in_progress');

  t.same(await moveDeadlines(serviceDeps(app).deps, [{ attemptId: attempt.id, seconds: -3600 }]), [], 'not into the past');
});

t.test('a launched attempt finished without a saved answer is abandoned whatever the policy, and does not count against maxAttempts', async (t) => {
  const student = await createUser(app, 'student');
  const { quiz, course, tf } = await publishedQuiz(app, owner, [student], { timeLimitMinutes: 10, maxAttempts: 1, overdueHandling: 'autosubmit' });
  const [session] = await db().execute<Array<{ id: string }>>(`INSERT INTO live_sessions (course_id, started_by) VALUES (?, ?) RETURNING id`, [
    course.id,
    owner.id,
  ]);
  // One open launch per session: each earlier one is closed first, as the launches flow does.
  const launch = async () => {
    await db().execute('UPDATE quiz_launches SET closed_at = now() WHERE session_id = ? AND closed_at IS NULL', [session!.id]);
    const [row] = await db().execute<Array<{ id: string }>>(
      `INSERT INTO quiz_launches (session_id, quiz_id, closes_at) VALUES (?, ?, now() + interval '10 minutes') RETURNING id`,
      [session!.id, quiz.id],
    );
    return row!.id;
  };

  const silent = await startAttempt(serviceDeps(app).deps, asAuth(student), quiz.id);
  await db().execute('UPDATE quiz_attempts SET launch_id = ? WHERE id = ?', [await launch(), silent.attempt.id]);
  await placeDeadline(silent.attempt.id, -(GRACE_MS + 300));
  const job = serviceDeps(app);
  t.same(await gradeAtDeadline(job.deps, silent.attempt.id), { graded: true, status: 'abandoned' }, 'abandoned although the quiz autosubmits');
  t.same(job.publisher.log, ['attemptAbandoned']);

  const next = await startAttempt(serviceDeps(app).deps, asAuth(student), quiz.id);
  t.equal(next.created, true, 'the unanswered launched attempt did not use up the only attempt');
  await db().execute('UPDATE quiz_attempts SET launch_id = ? WHERE id = ?', [await launch(), next.attempt.id]);
  await saveAnswer(serviceDeps(app).deps, asAuth(student), next.attempt.id, tf.id, true);
  await placeDeadline(next.attempt.id, -(GRACE_MS + 300));
  t.same(await gradeAtDeadline(serviceDeps(app).deps, next.attempt.id), { graded: true, status: 'graded' }, 'with a saved answer the policy applies');
  await t.rejects(startAttempt(serviceDeps(app).deps, asAuth(student), quiz.id), { code: 'MAX_ATTEMPTS_REACHED' }, 'an answered launched attempt counts');
});
