import t from '../../helpers/tap.js';
import { buildTestApp } from '../../helpers/app.js';
import { createUser } from '../../helpers/users.js';
import { gradeAtDeadline, saveAnswer, startAttempt, submitAttempt, syncAttempt } from '../../../server/modules/attempts/attempts.service.js';
import { asAuth, publishedQuiz, serviceDeps } from '../../helpers/quizzes.js';

// The attempt flows called directly (no HTTP, no sockets): what each reports to the publisher,
// in which order, and which deadline jobs it asks for.

const GRACE_MS = 500;
const { app } = await buildTestApp(t, 'attempts-service', { QUIZ_GRACE_MS: String(GRACE_MS), SWEEP_INTERVAL_MS: '3600000' });
const owner = await createUser(app, 'instructor');
const student = await createUser(app, 'student');
const classmate = await createUser(app, 'student');

t.test('a start reports the attempt started and open, and schedules its deadline at deadline + grace', async (t) => {
  const { quiz } = await publishedQuiz(app, owner, [student], { timeLimitMinutes: 5 });
  const first = serviceDeps(app);
  const started = await startAttempt(first.deps, asAuth(student), quiz.id);
  t.equal(started.created, true);
  t.same(first.publisher.log, ['attemptStarted', 'attemptOpen']);
  t.match(first.publisher.calls.attemptStarted[0], {
    attemptId: started.attempt.id,
    quizId: quiz.id,
    studentId: student.id,
    deadline: started.attempt.deadline,
  });
  t.equal(first.jobs.scheduled.length, 1);
  t.equal(first.jobs.scheduled[0]!.runAt.getTime(), Date.parse(started.attempt.deadline!) + GRACE_MS);

  const again = serviceDeps(app);
  const resumed = await startAttempt(again.deps, asAuth(student), quiz.id);
  t.equal(resumed.created, false);
  t.equal(resumed.attempt.id, started.attempt.id);
  t.same(again.publisher.log, ['attemptOpen'], 'the running attempt is open again, not started again');
  t.same(again.jobs.scheduled, [], 'no second deadline job');
});

t.test('a submit reports one grade, then the lesson it completes, then the answers it carried', async (t) => {
  const { quiz, tf, mc } = await publishedQuiz(app, owner, [student], { timeLimitMinutes: 5 });
  const { attempt } = await startAttempt(serviceDeps(app).deps, asAuth(student), quiz.id);

  const saving = serviceDeps(app);
  await saveAnswer(saving.deps, asAuth(student), attempt.id, tf.id, true);
  t.same(saving.publisher.log, ['answersSaved']);
  t.same(saving.publisher.calls.answersSaved, [attempt.id]);

  const submitting = serviceDeps(app);
  const graded = await submitAttempt(submitting.deps, asAuth(student), attempt.id, { [mc.id]: ['a'], 'not-in-this-attempt': true });
  t.equal(graded.status, 'graded');
  t.match(graded.result, { score: 4, maxScore: 4, isPassed: true, autoSubmitted: false });
  t.same(submitting.publisher.log, ['attemptGraded', 'lessonProgressRecorded', 'answersSaved']);
  t.match(submitting.publisher.calls.attemptGraded[0], { attemptId: attempt.id, studentId: student.id, score: 4, maxScore: 4, isPassed: true, expired: false });
  t.match(submitting.publisher.calls.lessonProgressRecorded[0], { lessonProgress: { status: 'completed' } });
  t.same(submitting.jobs.cancelled, [attempt.id], 'the deadline job is no longer needed');

  const replay = serviceDeps(app);
  const again = await submitAttempt(replay.deps, asAuth(student), attempt.id, { [tf.id]: false });
  t.match(again.result, { score: 4 }, 'a second submit returns the grade unchanged');
  t.same(replay.publisher.log, [], 'and reports nothing');
  t.same(replay.jobs.cancelled, []);
});

t.test('a submit over a socket (no answers) reports no saved answers; a failed grade completes no lesson', async (t) => {
  const { quiz, tf } = await publishedQuiz(app, owner, [student], { passingScore: 100 });
  const { attempt } = await startAttempt(serviceDeps(app).deps, asAuth(student), quiz.id);
  await saveAnswer(serviceDeps(app).deps, asAuth(student), attempt.id, tf.id, true);
  const submitting = serviceDeps(app);
  const graded = await submitAttempt(submitting.deps, asAuth(student), attempt.id);
  t.match(graded.result, { score: 1, isPassed: false });
  t.same(submitting.jobs.cancelled, [], 'an untimed attempt has no deadline job to remove');
  t.same(submitting.publisher.log, ['attemptGraded']);
});

t.test('past deadline + grace an answer is refused with QUIZ_TIME_EXPIRED and nothing is reported', async (t) => {
  const { quiz, tf } = await publishedQuiz(app, owner, [student], { timeLimitSeconds: 60 });
  const { attempt } = await startAttempt(serviceDeps(app).deps, asAuth(student), quiz.id);

  const withinGrace = serviceDeps(app, 60_000 + GRACE_MS - 200);
  await saveAnswer(withinGrace.deps, asAuth(student), attempt.id, tf.id, true);
  t.same(withinGrace.publisher.log, ['answersSaved'], 'within the grace an answer is still taken');

  const late = serviceDeps(app, 60_000 + GRACE_MS + 1000);
  await t.rejects(saveAnswer(late.deps, asAuth(student), attempt.id, tf.id, false), { code: 'QUIZ_TIME_EXPIRED' });
  t.same(late.publisher.log, []);
});

t.test('the deadline job waits until it is due, then grades the saved answers once as expired', async (t) => {
  const { quiz, tf } = await publishedQuiz(app, owner, [student], { timeLimitSeconds: 60 });
  const { attempt } = await startAttempt(serviceDeps(app).deps, asAuth(student), quiz.id);
  await saveAnswer(serviceDeps(app).deps, asAuth(student), attempt.id, tf.id, true);

  const early = serviceDeps(app);
  const notYet = await gradeAtDeadline(early.deps, attempt.id);
  t.same(notYet, { dueAt: Date.parse(attempt.deadline!) + GRACE_MS });
  t.same(early.publisher.log, []);

  const due = serviceDeps(app, 60_000 + GRACE_MS + 1000);
  t.same(await gradeAtDeadline(due.deps, attempt.id), { graded: true, status: 'graded' });
  t.same(due.publisher.log, ['attemptGraded']);
  t.match(due.publisher.calls.attemptGraded[0], { attemptId: attempt.id, score: 1, maxScore: 4, expired: true });

  const twice = serviceDeps(app, 60_000 + GRACE_MS + 2000);
  t.same(await gradeAtDeadline(twice.deps, attempt.id), { graded: false, status: 'graded' });
  t.same(twice.publisher.log, [], 'a job that runs twice reports once');

  const late = serviceDeps(app, 60_000 + GRACE_MS + 3000);
  await t.rejects(saveAnswer(late.deps, asAuth(student), attempt.id, tf.id, false), { code: 'QUIZ_TIME_EXPIRED' }, 'graded by the server: time is up');
});

t.test('a start finds its overdue running attempt, grades it as expired and reports that grade before the new attempt', async (t) => {
  const { quiz } = await publishedQuiz(app, owner, [classmate], { timeLimitSeconds: 60 });
  const { attempt } = await startAttempt(serviceDeps(app).deps, asAuth(classmate), quiz.id);
  const later = serviceDeps(app, 60_000 + GRACE_MS + 1000);
  const next = await startAttempt(later.deps, asAuth(classmate), quiz.id);
  t.equal(next.created, true);
  t.not(next.attempt.id, attempt.id);
  t.same(later.publisher.log, ['attemptGraded', 'attemptStarted', 'attemptOpen']);
  t.match(later.publisher.calls.attemptGraded[0], { attemptId: attempt.id, expired: true, score: 0 });
  t.same(later.jobs.cancelled, [attempt.id]);
});

t.test('a start past maxAttempts is refused with MAX_ATTEMPTS_REACHED and reports nothing', async (t) => {
  const { quiz } = await publishedQuiz(app, owner, [student], { maxAttempts: 1 });
  const { attempt } = await startAttempt(serviceDeps(app).deps, asAuth(student), quiz.id);
  await submitAttempt(serviceDeps(app).deps, asAuth(student), attempt.id);
  const refused = serviceDeps(app);
  await t.rejects(startAttempt(refused.deps, asAuth(student), quiz.id), { code: 'MAX_ATTEMPTS_REACHED' });
  t.same(refused.publisher.log, []);
  t.same(refused.jobs.scheduled, []);
});

t.test('only enrolled students start attempts', async (t) => {
  const { quiz } = await publishedQuiz(app, owner, [student]);
  await t.rejects(startAttempt(serviceDeps(app).deps, asAuth(classmate), quiz.id), { code: 'FORBIDDEN' });
  await t.rejects(startAttempt(serviceDeps(app).deps, asAuth(owner), quiz.id), { code: 'FORBIDDEN' });
});

t.test('a sync marks its student’s running attempt open; the owner reading it marks nothing', async (t) => {
  const { quiz } = await publishedQuiz(app, owner, [student], { timeLimitMinutes: 5 });
  const { attempt } = await startAttempt(serviceDeps(app).deps, asAuth(student), quiz.id);

  const byStudent = serviceDeps(app);
  t.equal((await syncAttempt(byStudent.deps, asAuth(student), attempt.id)).id, attempt.id);
  t.same(byStudent.publisher.log, ['attemptOpen']);
  t.same(byStudent.publisher.calls.attemptOpen[0], { attemptId: attempt.id, studentId: student.id, deadline: attempt.deadline });

  const byOwner = serviceDeps(app);
  await syncAttempt(byOwner.deps, asAuth(owner), attempt.id);
  t.same(byOwner.publisher.log, []);

  await submitAttempt(serviceDeps(app).deps, asAuth(student), attempt.id);
  const afterSubmit = serviceDeps(app);
  await syncAttempt(afterSubmit.deps, asAuth(student), attempt.id);
  t.same(afterSubmit.publisher.log, [], 'a finished attempt is not open');

  await t.rejects(syncAttempt(serviceDeps(app).deps, asAuth(classmate), attempt.id), { code: 'FORBIDDEN' });
});
